use caregraph::seed::{DEMO_DOMAIN, DEMO_PATIENT_LOGIN, DEMO_STAFF};
use caregraph_tests::on_both_databases;

/// The same-origin URLs a page references in `src` and `href` attributes.
fn referenced(html: &str) -> Vec<String> {
    ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|url| url.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

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

    async fn graphiql_ships_no_demo_login(app) {
        let html = app.get("/graphql").await.text().await.unwrap();
        let assets = referenced(&html);
        assert!(assets.iter().any(|a| a.ends_with("caregraph.js")), "{html}");
        let mut shipped = vec![("/graphql".to_owned(), html.clone())];
        for asset in assets {
            let response = app.get(&asset).await;
            assert_eq!(response.status(), 200, "{asset}");
            shipped.push((asset, response.text().await.unwrap()));
        }
        let passwords = DEMO_STAFF
            .iter()
            .map(|(_, _, _, password)| *password)
            .chain([DEMO_PATIENT_LOGIN.1]);
        let secrets: Vec<String> = passwords
            .map(str::to_owned)
            .chain([format!("@{DEMO_DOMAIN}"), "password 2026".to_owned()])
            .collect();
        for (url, body) in &shipped {
            for secret in &secrets {
                assert!(!body.contains(secret.as_str()), "{url} ships a demo login ({secret})");
            }
        }
    }
}
