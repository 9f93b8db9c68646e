// Starts GraphiQL against this server. Log in with the `login` mutation, then
// put {"Authorization": "Bearer <accessToken>"} in the Headers tab: the schema
// you see is the one your role may use.
(function () {
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + '/graphql' });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultEditorToolsVisibility: true,
    shouldPersistHeaders: false,
    // No credentials here: this script ships in every build, production too.
    defaultQuery: '# Log in with your own account (a demo clinic\'s logins are in the README),\n' +
      '# then add the header {"Authorization": "Bearer <accessToken>"}\n' +
      'mutation Login {\n  login(email: "", password: "") {\n' +
      '    accessToken\n    expiresAt\n    user { id name role }\n  }\n}\n'
  }));
})();
