use caregraph_tests::on_both_databases;

on_both_databases! {
    async fn health_and_readiness_answer(app) {
        let health = app.get("/healthz").await;
        assert_eq!(health.status(), 200);
        let ready = app.get("/readyz").await;
        assert_eq!(ready.status(), 200);
    }

    async fn graphiql_is_served_without_any_third_party_origin(app) {
        let page = app.get("/graphql").await;
        assert_eq!(page.status(), 200);
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        let html = page.text().await.unwrap();
        assert!(html.contains("graphiql"), "{html}");
        assert!(!html.contains("http://") && !html.contains("https://"), "the page names an outside origin: {html}");
        for asset in ["graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "caregraph.js"] {
            assert!(html.contains(&format!("/graphiql/{asset}")), "{asset} not referenced");
            let response = app.get(&format!("/graphiql/{asset}")).await;
            assert_eq!(response.status(), 200, "{asset}");
            assert!(response.bytes().await.unwrap().len() > 100, "{asset} is empty");
        }
        assert_eq!(app.get("/graphiql/../Cargo.toml").await.status(), 404);
    }
}
