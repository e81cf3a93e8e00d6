//! Organization CRUD and who may do what.

use serde_json::json;

use crate::http_tests;

http_tests! {
    async fn a_patch_never_undoes_a_concurrent_deactivation_and_if_match_guards_versions(app: TestApp) {
        let root = app.super_admin().await;
        let ada = app.register("ada@example.com", Some("acme")).await;
        let path = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());
        let read = app.get(&path, &ada.access).await.expect(200);
        let tag = read.headers.get("etag").unwrap().to_str().unwrap().to_owned();
        app.patch(&path, &ada.access, json!({ "displayName": "First" })).await.expect(200);
        let stale = app.client.patch(format!("{}{path}", app.base)).bearer_auth(&ada.access).header("if-match", &tag).json(&json!({ "displayName": "Stale" })).send().await.unwrap();
        crate::helpers::read(stale).await.expect_problem(412, "precondition_failed");
        let current = app.get(&path, &ada.access).await.expect(200);
        assert_eq!(current.body["displayName"], "First", "a refused PATCH changes nothing");
        let fresh = current.headers.get("etag").unwrap().to_str().unwrap().to_owned();
        assert_ne!(fresh, tag);
        let guarded = app.client.patch(format!("{}{path}", app.base)).bearer_auth(&ada.access).header("if-match", &fresh).json(&json!({ "displayName": "Guarded" })).send().await.unwrap();
        crate::helpers::read(guarded).await.expect(200);

        for round in 0..10 {
            let edit = app.patch(&path, &ada.access, json!({ "displayName": format!("Round {round}") }));
            let deactivate = app.delete(&path, &ada.access);
            let (edited, _) = tokio::join!(edit, deactivate);
            let after = app.get(&path, &root.access).await.expect(200);
            assert_eq!(after.body["isActive"], false, "round {round}: the PATCH turned the organization back on");
            if edited.status.as_u16() == 200 {
                assert_eq!(after.body["displayName"], format!("Round {round}"), "round {round}: the edit was lost");
            }
            app.post(&format!("{path}/activate"), Some(&root.access), json!({})).await.expect(200);
        }
    }

    async fn an_owner_reads_and_updates_their_organization(app: TestApp) {
        // Arrange
        let ada = app.register("ada@example.com", Some("acme")).await;
        let path = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());

        // Act
        let updated = app.patch(&path, &ada.access, json!({
            "displayName": "ACME Corporation", "email": "hello@acme.io", "phone": "+1 555 0100",
            "settings": { "timezone": "Europe/Paris", "scoring": { "threshold": 70 } }
        })).await.expect(200);

        // Assert
        assert_eq!(updated.body["displayName"], "ACME Corporation");
        assert_eq!(updated.body["settings"]["scoring"]["threshold"], 70);
        let read = app.get(&path, &ada.access).await.expect(200);
        assert_eq!(read.body["email"], "hello@acme.io");
        assert_eq!(read.body["phone"], "+1 555 0100");
        assert_eq!(read.body["createdBy"].as_str(), Some(ada.user_id.as_str()));

        let cleared = app.patch(&path, &ada.access, json!({ "email": null })).await.expect(200);
        assert!(cleared.body["email"].is_null());
        assert_eq!(cleared.body["phone"], "+1 555 0100");

        let list = app.get("/api/v1/organizations", &ada.access).await.expect(200);
        assert_eq!(list.body["pagination"]["total"], 1);
        assert_eq!(list.body["pagination"]["limit"], 20);
        assert_eq!(list.body["data"][0]["name"], "acme");
    }

    async fn renaming_to_a_taken_slug_is_a_conflict(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.register("bob@example.com", Some("globex")).await;
        let path = format!("/api/v1/organizations/{}", ada.org_id.as_ref().unwrap());
        app.patch(&path, &ada.access, json!({ "name": "globex" })).await.expect_problem(409, "conflict");
        app.patch(&path, &ada.access, json!({ "name": "acme-2" })).await.expect(200);
        assert_eq!(app.get(&path, &ada.access).await.body["name"], "acme-2");
    }

    async fn the_super_admin_lists_filters_and_pages_every_organization(app: TestApp) {
        for (email, org) in [("a@x.io", "alpha"), ("b@x.io", "bravo"), ("c@x.io", "charlie")] {
            app.register(email, Some(org)).await;
        }
        let root = app.super_admin().await;
        let all = app.get("/api/v1/organizations?sort=name&limit=2", &root.access).await.expect(200);
        assert_eq!(all.body["pagination"]["total"], 3);
        let names: Vec<&str> = all.body["data"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["alpha", "bravo"]);
        let next = app.get("/api/v1/organizations?sort=name&limit=2&offset=2", &root.access).await.expect(200);
        assert_eq!(next.body["data"][0]["name"], "charlie");
        let search = app.get("/api/v1/organizations?search=RAV", &root.access).await.expect(200);
        assert_eq!(search.body["pagination"]["total"], 1);
        let inactive = app.get("/api/v1/organizations?isActive=false", &root.access).await.expect(200);
        assert_eq!(inactive.body["pagination"]["total"], 0);
    }

    async fn the_super_admin_creates_organizations_without_an_owner(app: TestApp) {
        let root = app.super_admin().await;
        let created = app.post("/api/v1/organizations", Some(&root.access), json!({
            "name": "managed", "displayName": "Managed Co", "settings": { "a": 1 }
        })).await.expect(201);
        let id = created.body["id"].as_str().unwrap();
        let stats = app.get(&format!("/api/v1/organizations/{id}/stats"), &root.access).await.expect(200);
        assert_eq!(stats.body["stats"]["totalMembers"], 0);
        assert_eq!(stats.body["organization"]["name"], "managed");
    }

    async fn stats_count_members_by_role(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.upgrade(&ada, "pro").await;
        let org = ada.org_id.clone().unwrap();
        app.member(&ada, "m@example.com", "manager").await;
        app.member(&ada, "n@example.com", "member").await;
        let stats = app.get(&format!("/api/v1/organizations/{org}/stats"), &ada.access).await.expect(200);
        assert_eq!(stats.body["stats"]["totalMembers"], 3);
        assert_eq!(stats.body["stats"]["membersByRole"]["owner"], 1);
        assert_eq!(stats.body["stats"]["membersByRole"]["manager"], 1);
        assert_eq!(stats.body["stats"]["pendingInvitations"], 0);
        app.post("/api/v1/invitations", Some(&ada.access), json!({ "email": "later@example.com", "role": "member" })).await.expect(201);
        app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "Sales" })).await.expect(201);
        app.api_key(&ada, &["leads:create"]).await;
        let stats = app.get(&format!("/api/v1/organizations/{org}/stats"), &ada.access).await.expect(200);
        assert_eq!(stats.body["stats"]["pendingInvitations"], 1);
        assert_eq!(stats.body["stats"]["totalTeams"], 1);
        assert_eq!(stats.body["stats"]["activeApiKeys"], 1);
    }

    async fn members_without_the_permission_get_403(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.upgrade(&ada, "pro").await;
        let org = ada.org_id.clone().unwrap();
        let path = format!("/api/v1/organizations/{org}");
        let admin = app.member(&ada, "admin@example.com", "admin").await;
        let manager = app.member(&ada, "manager@example.com", "manager").await;
        let member = app.member(&ada, "member@example.com", "member").await;

        // Everyone may read their organization.
        for s in [&admin, &manager, &member] {
            app.get(&path, &s.access).await.expect(200);
        }
        // settings:manage
        app.patch(&path, &manager.access, json!({ "displayName": "Nope" })).await.expect_problem(403, "forbidden");
        app.patch(&path, &admin.access, json!({ "displayName": "Admins may" })).await.expect(200);
        // analytics:view_all
        app.get(&format!("{path}/stats"), &member.access).await.expect_problem(403, "forbidden");
        app.get(&format!("{path}/stats"), &manager.access).await.expect(200);
        // org:delete is the owner's alone
        app.delete(&path, &admin.access).await.expect_problem(403, "forbidden");
        // activation and hard delete are the super admin's alone
        app.post(&format!("{path}/activate"), Some(&ada.access), json!({})).await.expect_problem(403, "forbidden");
        app.post(&format!("{path}/purge"), Some(&ada.access), json!({ "confirm": "acme" })).await.expect_problem(403, "forbidden");
        app.get("/api/v1/admin/overview", &ada.access).await.expect_problem(403, "forbidden");

        // Nothing changed but the admin's rename.
        let read = app.get(&path, &ada.access).await.expect(200);
        assert_eq!(read.body["displayName"], "Admins may");
        assert_eq!(read.body["isActive"], true);
    }

    async fn the_admin_overview_counts_across_organizations(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.register("bob@example.com", Some("globex")).await;
        app.delete(&format!("/api/v1/organizations/{}", ada.org_id.unwrap()), &ada.access).await.expect(200);
        let root = app.super_admin().await;
        let overview = app.get("/api/v1/admin/overview", &root.access).await.expect(200);
        assert_eq!(overview.body["organizations"]["active"], 1);
        assert_eq!(overview.body["organizations"]["inactive"], 1);
        assert_eq!(overview.body["organizations"]["total"], 2);
        assert_eq!(overview.body["totalUsers"], 3);
        assert_eq!(overview.body["totalMemberships"], 2);
        assert_eq!(overview.body["pendingInvitations"], 0);
        assert_eq!(overview.body["activeApiKeys"], 0);
        assert_eq!(overview.body["totalTeams"], 0);
    }
}
