//! Lead capture, quotas, idempotency, visibility, assignment, stats and export.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};
use crate::http_tests;

fn a_lead(i: usize) -> Value {
    json!({ "email": format!("lead{i}@prospect.io"), "name": format!("Lead {i}"), "message": "We want a demo", "company": "Prospect", "source": "website" })
}

async fn submit(app: &TestApp, key: &str, body: Value) -> Reply {
    app.with_key(Method::POST, "/api/v1/leads", key, Some(body)).await
}

async fn count_rows(app: &TestApp, table: &str) -> i64 {
    use sea_orm::{ConnectionTrait as _, Statement};
    let db = app.state.storage.connection();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

http_tests! {
    async fn an_edit_and_an_assignment_racing_each_other_both_stay(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let created = app.post("/api/v1/leads", Some(&ada.access), json!({ "email": "sam@bigcorp.io", "name": "Sam", "message": "hi" })).await.expect(201);
        let path = format!("/api/v1/leads/{}", created.body["lead"]["id"].as_str().unwrap());
        for round in 0..10 {
            let assignee = if round % 2 == 0 { json!(ada.user_id) } else { Value::Null };
            let edit = app.patch(&path, &ada.access, json!({ "name": format!("Sam {round}") }));
            let assign_path = format!("{path}/assign");
            let assign = app.post(&assign_path, Some(&ada.access), json!({ "assigneeId": assignee }));
            let (edited, assigned) = tokio::join!(edit, assign);
            edited.expect(200);
            assigned.expect(200);
            let lead = app.get(&path, &ada.access).await.expect(200);
            assert_eq!(lead.body["name"], format!("Sam {round}"), "round {round}: the edit was lost");
            assert_eq!(lead.body["assigneeId"], assignee, "round {round}: the assignment was lost");
        }
        let tag = app.get(&path, &ada.access).await.headers.get("etag").unwrap().to_str().unwrap().to_owned();
        app.patch(&path, &ada.access, json!({ "name": "Newer" })).await.expect(200);
        let stale = app.client.patch(format!("{}{path}", app.base)).bearer_auth(&ada.access).header("if-match", tag).json(&json!({ "name": "Stale" })).send().await.unwrap();
        crate::helpers::read(stale).await.expect_problem(412, "precondition_failed");
        assert_eq!(app.get(&path, &ada.access).await.body["name"], "Newer");
    }

    async fn with_100_left_exactly_100_of_300_concurrent_submissions_succeed(app: TestApp) {
        // Arrange: a starter organization has 100 leads a month.
        let ada = app.register("ada@example.com", Some("acme")).await;
        let key = app.api_key(&ada, &["leads:create"]).await;

        // Act
        let attempts = (0..300).map(|i| {
            let (app, key) = (&app, key.clone());
            async move { submit(app, &key, a_lead(i)).await }
        });
        let replies = futures_util::future::join_all(attempts).await;

        // Assert
        let created = replies.iter().filter(|r| r.status.as_u16() == 201).count();
        let refused: Vec<&Reply> = replies.iter().filter(|r| r.status.as_u16() == 402).collect();
        assert_eq!((created, refused.len()), (100, 200), "{:?}", replies.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>());
        assert_eq!(refused[0].body["code"], "plan_limit_reached");
        assert!(refused[0].body["detail"].as_str().unwrap().contains("100"), "the limit and the reset date are in the detail");
        let usage = app.get("/api/v1/subscription/usage", &ada.access).await.expect(200);
        assert_eq!(usage.body["leads"], json!({ "used": 100, "limit": 100, "remaining": 0 }));
        assert_eq!(count_rows(&app, "leads").await, 100);
    }

    async fn fifty_concurrent_retries_with_one_key_create_one_lead(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        let attempts = (0..50).map(|_| {
            let (app, key) = (&app, key.clone());
            async move {
                let request = app.client.post(format!("{}/api/v1/leads", app.base)).header("x-api-key", key).header("idempotency-key", "form-42").json(&a_lead(1));
                crate::helpers::read(request.send().await.unwrap()).await
            }
        });
        let replies = futures_util::future::join_all(attempts).await;
        assert!(replies.iter().all(|r| r.status.as_u16() == 201), "{:?}", replies.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>());
        let ids: std::collections::BTreeSet<&str> = replies.iter().map(|r| r.body["lead"]["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 1);
        assert_eq!(count_rows(&app, "leads").await, 1);
        let usage = app.get("/api/v1/subscription/usage", &ada.access).await.expect(200);
        assert_eq!(usage.body["leads"]["used"], 1);

        let other = app.client.post(format!("{}/api/v1/leads", app.base)).header("x-api-key", &key).header("idempotency-key", "form-42").json(&a_lead(2));
        crate::helpers::read(other.send().await.unwrap()).await.expect_problem(409, "conflict");
    }

    async fn a_replay_answers_the_first_response_not_the_lead_as_it_is_now(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        let send = || app.client.post(format!("{}/api/v1/leads", app.base)).header("x-api-key", &key).header("idempotency-key", "form-7").json(&a_lead(1)).send();
        let first = crate::helpers::read(send().await.unwrap()).await.expect(201);
        let id = first.body["lead"]["id"].as_str().unwrap().to_owned();
        // The organization works the lead: it is assigned and changes status.
        app.post(&format!("/api/v1/leads/{id}/assign"), Some(&ada.access), json!({ "assigneeId": ada.user_id })).await.expect(200);
        app.patch(&format!("/api/v1/leads/{id}"), &ada.access, json!({ "status": "contacted" })).await.expect(200);

        // A key that may only create leads retries: it reads nothing it could not read the first time.
        let replay = crate::helpers::read(send().await.unwrap()).await.expect(201);
        assert_eq!(replay.body, first.body);
        assert_eq!(replay.body["lead"]["status"], "pending");
        assert!(replay.body["lead"]["assigneeId"].is_null());
        assert_eq!(count_rows(&app, "leads").await, 1);
    }

    async fn bad_input_changes_nothing(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        submit(&app, &key, json!({ "email": "nope", "name": "", "message": "" })).await.expect_problem(400, "validation_failed");
        submit(&app, &key, json!({ "email": "a@b.io", "name": "A", "message": "m", "metadata": { "x": "y".repeat(17 * 1024) } })).await.expect_problem(400, "validation_failed");
        submit(&app, &key, json!({ "email": "a@b.io", "name": "A", "message": "m", "metadata": [1, 2] })).await.expect_problem(400, "validation_failed");
        assert_eq!(count_rows(&app, "leads").await, 0);
        let usage = app.get("/api/v1/subscription/usage", &ada.access).await.expect(200);
        assert_eq!(usage.body["leads"]["used"], 0);
    }

    async fn submissions_need_leads_create(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let reader = app.api_key(&ada, &["leads:view_all"]).await;
        submit(&app, &reader, a_lead(1)).await.expect_problem(403, "forbidden");
        let form = app.api_key(&ada, &["leads:create"]).await;
        for path in ["/api/v1/leads", "/api/v1/leads/stats", "/api/v1/leads/export"] {
            app.with_key(Method::GET, path, &form, None).await.expect_problem(403, "forbidden");
        }
        app.with_key(Method::GET, "/api/v1/leads", &reader, None).await.expect(200);
        let member = app.member(&ada, "m@example.com", "member").await;
        let created = app.post("/api/v1/leads", Some(&member.access), a_lead(2)).await.expect(201);
        assert_eq!(created.body["lead"]["status"], "pending");
        assert!(created.body["lead"]["qualification"].is_null());
        let log = app.get("/api/v1/audit-logs?action=lead.created", &ada.access).await.expect(200);
        assert_eq!(log.body["data"][0]["actor"]["email"], "m@example.com");
    }

    async fn members_see_only_their_leads_and_team_leaders_their_teams(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        app.upgrade(&ada, "pro").await;
        let lead_user = app.member(&ada, "leader@example.com", "member").await;
        let rep = app.member(&ada, "rep@example.com", "member").await;
        let other = app.member(&ada, "other@example.com", "member").await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(submit(&app, &key, a_lead(i)).await.expect(201).body["lead"]["id"].as_str().unwrap().to_owned());
        }
        app.post(&format!("/api/v1/leads/{}/assign", ids[0]), Some(&ada.access), json!({ "assigneeId": rep.user_id })).await.expect(200);
        app.post(&format!("/api/v1/leads/{}/assign", ids[1]), Some(&ada.access), json!({ "assigneeId": other.user_id })).await.expect(200);
        let team = app.post("/api/v1/teams", Some(&ada.access), json!({ "name": "Sales", "leaderId": lead_user.user_id })).await.expect(201);
        app.call(Method::PUT, &format!("/api/v1/teams/{}/members/{}", team.body["id"].as_str().unwrap(), rep.user_id), Some(&ada.access), None).await.expect(204);

        let mine = app.get("/api/v1/leads", &rep.access).await.expect(200);
        assert_eq!(mine.body["data"].as_array().unwrap().len(), 1);
        app.get(&format!("/api/v1/leads/{}", ids[0]), &rep.access).await.expect(200);
        app.get(&format!("/api/v1/leads/{}", ids[1]), &rep.access).await.expect_problem(404, "not_found");
        app.get(&format!("/api/v1/leads/{}", ids[2]), &rep.access).await.expect_problem(404, "not_found");

        let leader = app.get("/api/v1/leads", &lead_user.access).await.expect(200);
        let seen: Vec<&str> = leader.body["data"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(seen, [ids[0].as_str()]);

        // A member may not change, assign, delete or export, and counts only their own.
        app.patch(&format!("/api/v1/leads/{}", ids[0]), &rep.access, json!({ "name": "Mine now" })).await.expect_problem(403, "forbidden");
        app.post(&format!("/api/v1/leads/{}/assign", ids[0]), Some(&rep.access), json!({ "assigneeId": null })).await.expect_problem(403, "forbidden");
        app.delete(&format!("/api/v1/leads/{}", ids[0]), &rep.access).await.expect_problem(403, "forbidden");
        app.get("/api/v1/leads/export", &rep.access).await.expect_problem(403, "forbidden");
        let stats = app.get("/api/v1/leads/stats", &rep.access).await.expect(200);
        assert_eq!(stats.body["total"], 1);
        let all = app.get("/api/v1/leads/stats", &ada.access).await.expect(200);
        assert_eq!(all.body, json!({ "total": 3, "byStatus": { "pending": 3 }, "byQualification": { "none": 3 } }));

        let by_team = app.get(&format!("/api/v1/leads?teamId={}", team.body["id"].as_str().unwrap()), &ada.access).await.expect(200);
        assert_eq!(by_team.body["data"].as_array().unwrap().len(), 1);
    }

    async fn leads_are_changed_assigned_and_deleted_by_the_right_roles(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let manager = app.member(&ada, "manager@example.com", "manager").await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        let id = submit(&app, &key, a_lead(1)).await.expect(201).body["lead"]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/leads/{id}");

        let updated = app.patch(&path, &manager.access, json!({ "name": "Renamed", "company": null, "metadata": { "tier": "gold" } })).await.expect(200);
        assert_eq!(updated.body["name"], "Renamed");
        assert!(updated.body["company"].is_null());
        assert_eq!(updated.body["metadata"], json!({ "tier": "gold" }));
        app.patch(&path, &manager.access, json!({ "email": "not an email" })).await.expect_problem(400, "validation_failed");
        assert_eq!(app.get(&path, &manager.access).await.body["email"], "lead1@prospect.io");

        let outsider = app.register("out@example.com", Some("globex")).await;
        app.post(&format!("{path}/assign"), Some(&manager.access), json!({ "assigneeId": outsider.user_id })).await.expect_problem(400, "validation_failed");
        let assigned = app.post(&format!("{path}/assign"), Some(&manager.access), json!({ "assigneeId": manager.user_id })).await.expect(200);
        assert_eq!(assigned.body["assigneeId"].as_str(), Some(manager.user_id.as_str()));
        let filtered = app.get(&format!("/api/v1/leads?assigneeId={}", manager.user_id), &ada.access).await.expect(200);
        assert_eq!(filtered.body["data"].as_array().unwrap().len(), 1);

        app.delete(&path, &manager.access).await.expect_problem(403, "forbidden");
        app.delete(&path, &ada.access).await.expect(204);
        app.get(&path, &ada.access).await.expect_problem(404, "not_found");
        let actions: Vec<String> = app.get("/api/v1/audit-logs?resourceType=lead", &ada.access).await.body["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        assert_eq!(actions, ["lead.deleted", "lead.assigned", "lead.updated", "lead.created"]);
    }

    async fn another_organizations_leads_are_not_found(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let bob = app.register("bob@example.com", Some("globex")).await;
        let bobs_key = app.api_key(&bob, &["leads:create"]).await;
        let id = submit(&app, &bobs_key, a_lead(1)).await.expect(201).body["lead"]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/leads/{id}");
        app.get(&path, &ada.access).await.expect_problem(404, "not_found");
        app.patch(&path, &ada.access, json!({ "name": "x" })).await.expect_problem(404, "not_found");
        app.delete(&path, &ada.access).await.expect_problem(404, "not_found");
        app.post(&format!("{path}/assign"), Some(&ada.access), json!({ "assigneeId": ada.user_id })).await.expect_problem(404, "not_found");
        let adas_key = app.api_key(&ada, &["leads:view_all", "leads:edit", "leads:delete"]).await;
        app.with_key(Method::GET, &path, &adas_key, None).await.expect_problem(404, "not_found");
        app.with_key(Method::DELETE, &path, &adas_key, None).await.expect_problem(404, "not_found");
        assert_eq!(app.get("/api/v1/leads", &ada.access).await.body["data"], json!([]));
        assert_eq!(app.get("/api/v1/leads/stats", &ada.access).await.body["total"], 0);
        assert_eq!(app.get(&path, &bob.access).await.expect(200).body["name"], "Lead 1");
    }

    async fn the_list_pages_newest_first_with_filters(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        for i in 0..5 {
            submit(&app, &key, a_lead(i)).await.expect(201);
        }
        let first = app.get("/api/v1/leads?limit=2", &ada.access).await.expect(200);
        assert_eq!(first.body["data"][0]["name"], "Lead 4");
        let cursor = first.body["pagination"]["nextCursor"].as_str().unwrap().to_owned();
        submit(&app, &key, a_lead(9)).await.expect(201);
        let second = app.get(&format!("/api/v1/leads?limit=2&cursor={cursor}"), &ada.access).await.expect(200);
        assert_eq!(second.body["data"][0]["name"], "Lead 2", "a new lead does not shift the next page");
        let searched = app.get("/api/v1/leads?search=LEAD3%40", &ada.access).await.expect(200);
        assert_eq!(searched.body["data"].as_array().unwrap().len(), 1);
        assert_eq!(app.get("/api/v1/leads?status=approved", &ada.access).await.body["data"], json!([]));
        app.get("/api/v1/leads?status=won", &ada.access).await.expect_problem(400, "validation_failed");
        app.get("/api/v1/leads?cursor=garbage", &ada.access).await.expect_problem(400, "validation_failed");
        app.get("/api/v1/leads?limit=500", &ada.access).await.expect_problem(400, "validation_failed");
    }

    async fn organization_stats_and_the_overview_count_leads(app: TestApp) {
        let ada = app.register("ada@example.com", Some("acme")).await;
        let key = app.api_key(&ada, &["leads:create"]).await;
        for i in 0..3 {
            submit(&app, &key, a_lead(i)).await.expect(201);
        }
        let stats = app.get(&format!("/api/v1/organizations/{}/stats", ada.org_id.as_ref().unwrap()), &ada.access).await.expect(200);
        assert_eq!(stats.body["stats"]["totalLeads"], 3);
        assert_eq!(stats.body["stats"]["leadsByStatus"], json!({ "pending": 3 }));
        assert_eq!(stats.body["stats"]["usage"]["plan"], "starter");
        assert_eq!(stats.body["stats"]["usage"]["leads"], json!({ "used": 3, "limit": 100, "remaining": 97 }));
        let root = app.super_admin().await;
        let overview = app.get("/api/v1/admin/overview", &root.access).await.expect(200);
        assert_eq!(overview.body["leadsByStatus"], json!({ "pending": 3 }));
        assert_eq!(overview.body["topOrganizations"][0]["name"], "acme");
        assert_eq!(overview.body["topOrganizations"][0]["leads"], 3);
    }
}

mod export {
    use super::*;
    use leadflow_storage::testing::Engine;

    async fn export_round_trip(engine: Engine) {
        let Some(app) = TestApp::spawn(engine).await else { return };
        let ada = app.register("ada@example.com", Some("acme")).await;
        let org: uuid::Uuid = ada.org_id.as_ref().unwrap().parse().unwrap();

        // Arrange: 10,000 leads with awkward values, inserted in bulk.
        use leadflow_storage::entities::lead;
        use sea_orm::{EntityTrait as _, Set};
        let start = chrono::Utc::now() - chrono::Duration::days(1);
        let mut expected = Vec::new();
        for chunk in 0..20 {
            let rows: Vec<lead::ActiveModel> = (0..500)
                .map(|j| {
                    let i = chunk * 500 + j;
                    let name = match i {
                        0 => "=HYPERLINK(\"http://evil.example\",\"click\")".to_owned(),
                        1 => "Doe, \"Johnny\"\nSecond line".to_owned(),
                        2 => "Zoë Ünïcødé 名前".to_owned(),
                        _ => format!("Lead {i}"),
                    };
                    let id = uuid::Uuid::now_v7();
                    expected.push((id.to_string(), format!("l{i}@prospect.io"), name.clone()));
                    lead::ActiveModel {
                        id: Set(id),
                        organization_id: Set(org),
                        email: Set(format!("l{i}@prospect.io")),
                        name: Set(name),
                        company: Set(Some(format!("Company, {i}"))),
                        phone: Set(if i % 7 == 0 { Some("+1 555 0100".into()) } else { None }),
                        message: Set(format!("message {i}; with \"quotes\", commas\r\nand lines")),
                        source: Set(Some("website".into())),
                        metadata: Set(json!({ "i": i })),
                        status: Set("pending".into()),
                        qualification_category: Set(None),
                        qualification_reason: Set(None),
                        qualification_score: Set(None),
                        assignee_id: Set(None),
                        created_at: Set(start + chrono::Duration::milliseconds(i64::from(i))),
                        updated_at: Set(start),
                        created_by_type: Set(None),
                        created_by_id: Set(None),
                        duplicate_of: Set(None),
                    }
                })
                .collect();
            lead::Entity::insert_many(rows)
                .exec_without_returning(app.state.storage.connection())
                .await
                .unwrap();
        }

        // Act
        let response = app
            .client
            .get(format!("{}/api/v1/leads/export", app.base))
            .bearer_auth(&ada.access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let body = response.bytes().await.unwrap();

        // Assert: a standard CSV reader gets back exactly the stored values.
        let mut reader = csv::Reader::from_reader(body.as_ref());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(&header[..3], ["id", "email", "name"]);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 10_000);
        let by_id: std::collections::HashMap<&str, &csv::StringRecord> =
            records.iter().map(|r| (r.get(0).unwrap(), r)).collect();
        for (i, (id, email, name)) in expected.iter().enumerate() {
            let record = by_id[id.as_str()];
            assert_eq!(record.get(1).unwrap(), email);
            let shown = if i == 0 { format!("'{name}") } else { name.clone() };
            assert_eq!(record.get(2).unwrap(), shown, "row {i}");
            assert_eq!(record.get(3).unwrap(), format!("Company, {i}"));
            assert_eq!(record.get(4).unwrap(), if i % 7 == 0 { "'+1 555 0100" } else { "" });
            assert_eq!(record.get(5).unwrap(), format!("message {i}; with \"quotes\", commas\r\nand lines"));
            assert_eq!(serde_json::from_str::<Value>(record.get(12).unwrap()).unwrap(), json!({ "i": i }));
        }
        assert_eq!(records[0].get(2).unwrap(), "Lead 9999", "newest first");
    }

    #[tokio::test]
    async fn ten_thousand_leads_export_and_parse_back_exactly_sqlite() {
        export_round_trip(Engine::Sqlite).await;
    }

    #[tokio::test]
    async fn ten_thousand_leads_export_and_parse_back_exactly_postgres() {
        export_round_trip(Engine::Postgres).await;
    }
}
