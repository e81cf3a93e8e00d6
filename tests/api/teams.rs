//! Teams: CRUD, members, leaders.

use reqwest::Method;
use serde_json::json;

use crate::http_tests;

http_tests! {
    async fn a_team_patch_honours_if_match(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let created = app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "Sales" })).await.expect(201);
        let path = format!("/api/v1/teams/{}", created.body["id"].as_str().unwrap());
        let tag = app.get(&path, &ada.access).await.expect(200).headers.get("etag").unwrap().to_str().unwrap().to_owned();
        let renamed = app.patch(&path, &ada.access, json!({ "name": "Field Sales" })).await.expect(200);
        assert_ne!(renamed.headers.get("etag").unwrap().to_str().unwrap(), tag);
        let stale = app.client.patch(format!("{}{path}", app.base)).bearer_auth(&ada.access).header("if-match", &tag).json(&json!({ "name": "Stale" })).send().await.unwrap();
        crate::helpers::read(stale).await.expect_problem(412, "precondition_failed");
        assert_eq!(app.get(&path, &ada.access).await.body["name"], "Field Sales");
    }

    async fn teams_are_created_staffed_and_changed(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let lead = app.member(&ada, "lead@example.com", "manager").await;
        let rep = app.member(&ada, "rep@example.com", "member").await;

        let created = app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "Sales", "description": "Field sales", "leaderId": lead.user_id })).await.expect(201);
        let id = created.body["id"].as_str().unwrap().to_owned();
        assert_eq!(created.body["leaderId"].as_str(), Some(lead.user_id.as_str()));
        app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "Sales" })).await.expect_problem(409, "conflict");

        app.call(Method::PUT, &format!("/api/v1/teams/{id}/members/{}", rep.user_id), Some(&ada.access), None).await.expect(204);
        app.call(Method::PUT, &format!("/api/v1/teams/{id}/members/{}", rep.user_id), Some(&ada.access), None).await.expect(204);
        let detail = app.get(&format!("/api/v1/teams/{id}"), &rep.access).await.expect(200);
        assert_eq!(detail.body["name"], "Sales");
        assert_eq!(detail.body["members"][0]["email"], "rep@example.com");

        let updated = app.patch(&format!("/api/v1/teams/{id}"), &ada.access, json!({ "name": "Inside Sales", "leaderId": null, "description": null })).await.expect(200);
        assert!(updated.body["leaderId"].is_null() && updated.body["description"].is_null());
        app.call(Method::DELETE, &format!("/api/v1/teams/{id}/members/{}", rep.user_id), Some(&ada.access), None).await.expect(204);
        assert_eq!(app.get(&format!("/api/v1/teams/{id}"), &ada.access).await.body["members"], json!([]));

        let list = app.get("/api/v1/teams", &rep.access).await.expect(200);
        assert_eq!(list.body["data"][0]["name"], "Inside Sales");
        app.delete(&format!("/api/v1/teams/{id}"), &ada.access).await.expect(204);
        app.get(&format!("/api/v1/teams/{id}"), &ada.access).await.expect_problem(404, "not_found");
    }

    async fn leaders_and_members_must_belong_to_the_organization(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let outsider = app.register("out@example.com", Some("globex")).await;
        let refused = app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "Sales", "leaderId": outsider.user_id })).await.expect_problem(400, "validation_failed");
        assert_eq!(refused.body["errors"][0]["field"], "leaderId");
        let id = app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "Sales" })).await.expect(201).body["id"].as_str().unwrap().to_owned();
        app.call(Method::PUT, &format!("/api/v1/teams/{id}/members/{}", outsider.user_id), Some(&ada.access), None).await.expect_problem(404, "not_found");
        app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "" })).await.expect_problem(400, "validation_failed");
    }

    async fn only_settings_managers_change_teams(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let manager = app.member(&ada, "manager@example.com", "manager").await;
        let id = app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "Sales" })).await.expect(201).body["id"].as_str().unwrap().to_owned();
        app.post("/api/v1/teams", Some(&manager.access), json!({ "name": "Mine" })).await.expect_problem(403, "forbidden");
        app.patch(&format!("/api/v1/teams/{id}"), &manager.access, json!({ "name": "Renamed" })).await.expect_problem(403, "forbidden");
        app.delete(&format!("/api/v1/teams/{id}"), &manager.access).await.expect_problem(403, "forbidden");
        app.call(Method::PUT, &format!("/api/v1/teams/{id}/members/{}", manager.user_id), Some(&manager.access), None).await.expect_problem(403, "forbidden");
        let form_key = app.api_key(&ada, &["leads:create"]).await;
        app.with_key(Method::GET, "/api/v1/teams", &form_key, None).await.expect_problem(403, "forbidden");
        let settings_key = app.api_key(&ada, &["settings:manage"]).await;
        app.with_key(Method::POST, "/api/v1/teams", &settings_key, Some(json!({ "name": "Bots" }))).await.expect(201);
    }

    async fn another_organizations_teams_are_not_found(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let id = app.post("/api/v1/teams", Some(&bob.access), json!({ "name": "Globex Sales" })).await.expect(201).body["id"].as_str().unwrap().to_owned();
        let team = format!("/api/v1/teams/{id}");
        app.get(&team, &ada.access).await.expect_problem(404, "not_found");
        app.patch(&team, &ada.access, json!({ "name": "Stolen" })).await.expect_problem(404, "not_found");
        app.delete(&team, &ada.access).await.expect_problem(404, "not_found");
        app.call(Method::PUT, &format!("{team}/members/{}", ada.user_id), Some(&ada.access), None).await.expect_problem(404, "not_found");
        app.call(Method::DELETE, &format!("{team}/members/{}", bob.user_id), Some(&ada.access), None).await.expect_problem(404, "not_found");
        assert_eq!(app.get("/api/v1/teams", &ada.access).await.body["data"], json!([]));
        assert_eq!(app.get(&team, &bob.access).await.expect(200).body["name"], "Globex Sales");
    }
}
