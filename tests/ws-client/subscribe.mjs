// Subscribes to caregraph over graphql-ws the way a browser client would.
//
//   node subscribe.mjs <ws url> <access token|-> <query> [count]
//
// Prints one JSON line per event: {"ready":true} once the server has
// acknowledged the connection and the subscription is in place,
// {"next": <data>} for each result, {"error": ...} for GraphQL errors and
// {"complete": true} when the server ends the subscription, and
// {"closed": {"code": n, "reason": "..."}} when the socket closes. Exits
// after `count` results (default 1), or when the connection ends.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, query, countArg] = process.argv.slice(2);
const wanted = Number(countArg ?? 1);
const print = (value) => process.stdout.write(JSON.stringify(value) + '\n');

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: token === '-' ? {} : { authorization: `Bearer ${token}` },
  on: {
    connected: () => {
      // The subscribe message goes out right after the ack; give the server
      // a moment to register it before telling the test to go ahead.
      setTimeout(() => print({ ready: true }), 300);
    },
    closed: (event) => {
      print({ closed: { code: event?.code ?? null, reason: event?.reason ?? '' } });
      process.exit(0);
    },
  },
});

let received = 0;
client.subscribe(
  { query },
  {
    next: (result) => {
      if (result.errors) print({ error: result.errors });
      if (result.data) print({ next: result.data });
      received += 1;
      if (received >= wanted) {
        client.dispose();
        process.exit(0);
      }
    },
    error: (error) => {
      print({ error: String(error?.message ?? error?.reason ?? JSON.stringify(error)) });
    },
    complete: () => {
      print({ complete: true });
      client.dispose();
    },
  },
);
