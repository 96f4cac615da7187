//! Targets, KPI figures and leaderboards through the API, per role's scope
//! (SPEC §6), on the database the tests run on.

mod common;

use common::App;
use keqing_domain::{CustomerInput, Money, NewActivity, Role, User};
use serde_json::{json, Value};

struct World {
    app: App,
    ma: User,
    mb: User,
    team_a: i64,
    team_b: i64,
}

/// Two teams in two regions, a manager in each; January 2025: 王芳 sold
/// 100,000 yuan and 李军 50,000.
async fn world() -> World {
    let app = App::start().await;
    let team_a = app
        .store
        .create_team("南京一部", Some("江苏"))
        .await
        .unwrap()
        .id;
    let team_b = app
        .store
        .create_team("杭州二部", Some("浙江"))
        .await
        .unwrap()
        .id;
    let admin = app.user("boss", Role::Admin, None).await;
    app.user("zhaomin", Role::Director, None).await;
    app.user("chenjing", Role::Supervisor, Some(team_a)).await;
    app.user("hejuan", Role::Finance, None).await;
    app.user("maxiaoyu", Role::Agent, None).await;
    let ma = app.user("wangfang", Role::Manager, Some(team_a)).await;
    let mb = app.user("lijun", Role::Manager, Some(team_b)).await;
    let mut orders = vec![];
    for (owner, fen, n) in [(&ma, 10_000_000, "A"), (&mb, 5_000_000, "B")] {
        let input =
            CustomerInput::from_json(json!({"name": format!("业绩客户{n}")}).as_object().unwrap())
                .unwrap();
        let c = app
            .store
            .create_customer(&input, Some(owner.id), &admin)
            .await
            .unwrap();
        orders.push(common::order(
            format!("P-{n}"),
            c.id,
            chrono::NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(),
            Money(fen),
        ));
        if owner.id == ma.id {
            let visit = NewActivity::from_json(
                json!({"kind": "visit", "at": "2025-01-07T02:00:00Z"})
                    .as_object()
                    .unwrap(),
            )
            .unwrap();
            app.store.add_activity(c.id, &visit, owner).await.unwrap();
        }
    }
    app.store.add_orders(&orders).await.unwrap();
    World {
        app,
        ma,
        mb,
        team_a,
        team_b,
    }
}

async fn get(app: &App, token: &str, path: &str) -> (u16, Value) {
    app.call(token, "GET", path, None).await
}

#[tokio::test]
async fn targets_kpis_and_scopes() {
    let w = world().await;
    let app = &w.app;
    let director = app.login("zhaomin").await;
    let supervisor = app.login("chenjing").await;
    let manager = app.login("wangfang").await;
    let finance = app.login("hejuan").await;
    let agent = app.login("maxiaoyu").await;

    // 王芳: 960,000 a year, evenly: 80,000 a month.
    let (s, t) = app
        .call(
            &director,
            "POST",
            "/targets",
            Some(json!({"level": "user", "subject_id": w.ma.id, "metric": "sales_amount", "year": 2025, "amount": "960000"})),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["months"][0], "80000.00");
    assert_eq!(t["subject_name"], "wangfang");
    let target = t["id"].as_i64().unwrap();

    // January, read on its last day: 19 working days (1 January and
    // 28–31 January off for the Spring Festival, Sunday 26 worked).
    let jan = format!(
        "/performance?level=user&subject_id={}&metric=sales_amount&from=2025-01-01&to=2025-01-31&as_of=2025-01-31",
        w.ma.id
    );
    let (s, p) = get(app, &manager, &jan).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["plan"], "80000.00");
    assert_eq!(p["actual"], "100000.00");
    assert_eq!(p["completion"], 1.25);
    assert_eq!(p["working_days"], 19);
    assert_eq!(p["elapsed_working_days"], 19);
    assert_eq!(p["time_progress"], 1.0);
    assert_eq!(p["points_ahead"], 0.25);
    // The first half: 10 of 19 working days, the plan spread over them.
    let (s, p) = get(
        app,
        &manager,
        &format!(
            "/performance?subject_id={}&from=2025-01-01&to=2025-01-15&as_of=2025-01-10",
            w.ma.id
        ),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["working_days"], 10);
    assert_eq!(p["plan"], "42105.26", "80000 × 10 / 19");
    assert_eq!(p["elapsed_working_days"], 7);
    assert_eq!(p["forecast"], "142857.14", "100000 in 7 of 10 days");

    // Scope: a manager sees only their own; a supervisor their team.
    let other = format!("/performance?subject_id={}", w.mb.id);
    assert_eq!(get(app, &manager, &other).await.0, 403);
    assert_eq!(get(app, &manager, "/performance?level=team").await.0, 403);
    assert_eq!(get(app, &supervisor, &other).await.0, 403);
    let (s, p) = get(
        app,
        &supervisor,
        "/performance?level=team&from=2025-01-01&to=2025-01-31&as_of=2025-02-01",
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["subject_id"], w.team_a);
    assert_eq!(p["plan"], "80000.00", "the sum of its members");
    assert_eq!(p["own_plan"], Value::Null);
    assert_eq!(p["actual"], "100000.00");
    assert_eq!(get(app, &agent, "/performance").await.0, 403);
    let company = "/performance?level=company&from=2025-01-01&to=2025-01-31&as_of=2025-02-01";
    assert_eq!(get(app, &supervisor, company).await.0, 403);
    let (s, p) = get(app, &finance, company).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["actual"], "150000.00");
    let (s, p) = get(
        app,
        &director,
        "/performance?level=user&metric=visits&subject_id=0",
    )
    .await;
    assert_eq!(s, 422, "{p}");
    assert_eq!(p["details"]["fields"][0]["field"], "subject_id", "{p}");
    let (s, p) = get(
        app,
        &manager,
        &format!(
            "/performance?subject_id={}&metric=visits&from=2025-01-01&to=2025-01-31",
            w.ma.id
        ),
    )
    .await;
    assert_eq!((s, p["actual"].as_str()), (200, Some("1")), "{p}");

    // A team's own target: the gap to its members' sum is shown.
    let (s, t) = app
        .call(
            &supervisor,
            "POST",
            "/targets",
            Some(json!({"level": "team", "subject_id": w.team_a, "metric": "sales_amount", "year": 2025, "amount": "1200000"})),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["members_sum"], "960000.00");
    assert_eq!(t["gap"], "240000.00");
    // Not the other team's, not twice, nothing wrong.
    let bad = [
        (
            json!({"level": "team", "subject_id": w.team_b, "metric": "sales_amount", "year": 2025, "amount": "1"}),
            &supervisor,
            403,
            None,
        ),
        (
            json!({"level": "user", "subject_id": w.ma.id, "metric": "sales_amount", "year": 2025, "amount": "1"}),
            &manager,
            403,
            None,
        ),
        (
            json!({"level": "team", "subject_id": w.team_a, "metric": "sales_amount", "year": 2025, "amount": "1"}),
            &director,
            409,
            None,
        ),
        (
            json!({"level": "user", "subject_id": 99999, "metric": "visits", "year": 2025, "amount": 5}),
            &director,
            422,
            Some("subject_id"),
        ),
        (
            json!({"level": "user", "subject_id": w.mb.id, "metric": "visits", "year": 2025, "amount": -5}),
            &director,
            422,
            Some("amount"),
        ),
        (
            json!({"level": "user", "subject_id": w.mb.id, "metric": "visits", "year": 2025, "amount": 120,
            "months": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]}),
            &director,
            422,
            Some("months"),
        ),
    ];
    for (body, who, status, field) in bad {
        let (s, v) = app.call(who, "POST", "/targets", Some(body.clone())).await;
        assert_eq!(s, status, "{body} → {v}");
        if let Some(f) = field {
            assert_eq!(v["details"]["fields"][0]["field"], f, "{v}");
            let m = v["details"]["fields"][0]["message"].as_str().unwrap();
            assert!(!m.is_ascii(), "Chinese first: {m}");
        }
    }

    // A revision from 10 January: figures read before it keep the old plan.
    let (s, t) = app
        .call(
            &director,
            "PATCH",
            &format!("/targets/{target}"),
            Some(json!({"version": 1, "amount": "1020000", "effective_from": "2025-01-10", "reason": "市局修正任务"})),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        (
            t["version"].as_i64(),
            t["revisions"].as_array().map(|r| r.len())
        ),
        (Some(2), Some(2))
    );
    assert_eq!(t["revisions"][1]["reason"], "市局修正任务");
    assert_eq!(t["revisions"][1]["by_name"], "zhaomin");
    let stale = app
        .call(
            &director,
            "PATCH",
            &format!("/targets/{target}"),
            Some(
                json!({"version": 1, "amount": "1", "effective_from": "2025-01-10", "reason": "x"}),
            ),
        )
        .await;
    assert_eq!(stale.0, 409, "{}", stale.1);
    let at = |day: &str| {
        format!(
            "/performance?subject_id={}&from=2025-01-01&to=2025-01-31&as_of={day}",
            w.ma.id
        )
    };
    assert_eq!(
        get(app, &director, &at("2025-01-09")).await.1["plan"],
        "80000.00"
    );
    assert_eq!(
        get(app, &director, &at("2025-01-31")).await.1["plan"],
        "85000.00"
    );
    let (s, v) = app
        .call(
            &supervisor,
            "PATCH",
            &format!("/targets/{target}"),
            Some(json!({"version": 2, "amount": "-1", "reason": ""})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    let fields: Vec<_> = v["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["amount", "effective_from", "reason"]);

    // Lists and boards in scope.
    let (s, l) = get(app, &manager, "/targets?year=2025").await;
    assert_eq!(s, 200);
    assert_eq!(
        l["items"].as_array().unwrap().len(),
        1,
        "only their own: {l}"
    );
    let (_, l) = get(app, &director, "/targets?year=2025").await;
    assert_eq!(l["items"].as_array().unwrap().len(), 2);
    let board = "/performance/board?level=user&from=2025-01-01&to=2025-01-31&as_of=2025-02-01";
    let (s, b) = get(app, &director, board).await;
    assert_eq!(s, 200, "{b}");
    let names: Vec<_> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["wangfang", "lijun"],
        "ranked by completion, no plan last"
    );
    assert_eq!(b["items"][0]["rank"], 1);
    let (_, b) = get(app, &supervisor, board).await;
    assert_eq!(b["items"].as_array().unwrap().len(), 1, "{b}");
    let (s, b) = get(
        app,
        &director,
        "/performance/board?level=region&from=2025-01-01&to=2025-01-31",
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["items"][0]["name"], "江苏");
    assert_eq!(b["items"][0]["plan"], "100000.00", "the team's own target");

    let (s, y) = get(
        app,
        &manager,
        &format!(
            "/performance/series?subject_id={}&year=2025&as_of=2025-12-31",
            w.ma.id
        ),
    )
    .await;
    assert_eq!(s, 200, "{y}");
    assert_eq!(y["items"].as_array().unwrap().len(), 12);
    assert_eq!(y["items"][0]["month"], "2025-01");
    assert_eq!(y["items"][0]["actual"], "100000.00");
    assert_eq!(y["items"][1]["actual"], "0.00");
    assert_eq!(y["items"][11]["plan"], "85000.00");
}

#[tokio::test]
async fn the_month_figures_pay_reads() {
    let w = world().await;
    let admin = w.app.store.user_by_name("boss").await.unwrap().unwrap().0;
    let input = keqing_domain::performance::TargetInput::from_json(
        json!({"level": "user", "subject_id": w.ma.id, "metric": "sales_amount", "year": 2025, "amount": "960000"})
            .as_object()
            .unwrap(),
    )
    .unwrap();
    w.app.store.create_target(&input, &admin).await.unwrap();
    let figures = keqing_app::performance::month_figures(w.app.store.as_ref(), 2025, 1)
        .await
        .unwrap();
    let find = |id| figures.iter().find(|f| f.user_id == id).cloned();
    let a = find(w.ma.id).unwrap();
    assert_eq!((a.plan_fen, a.actual_fen), (Some(8_000_000), 10_000_000));
    let b = find(w.mb.id).unwrap();
    assert_eq!((b.plan_fen, b.actual_fen), (None, 5_000_000));
    assert_eq!(
        keqing_app::performance::year_sales_fen(w.app.store.as_ref(), 2025)
            .await
            .unwrap(),
        15_000_000
    );
}

/// 003's report through the API: 3082 of 3017 cases, 省外烟 807 of them
/// (26%), an average price of 10655 yuan a case against the plan's 10749.
#[tokio::test]
async fn the_tobacco_report_through_the_api() {
    let w = world().await;
    let app = &w.app;
    let director = app.login("zhaomin").await;
    let admin = app.store.user_by_name("boss").await.unwrap().unwrap().0;
    let input =
        CustomerInput::from_json(json!({"name": "县营销部零售户"}).as_object().unwrap()).unwrap();
    let c = app
        .store
        .create_customer(&input, Some(w.ma.id), &admin)
        .await
        .unwrap();
    let case = |ext: &str, cases: i64, product: &str| keqing_domain::order::NewOrder {
        product: Some(product.into()),
        quantity: cases,
        unit: Some(keqing_domain::OrderUnit::Case),
        ..common::order(
            ext.into(),
            c.id,
            chrono::NaiveDate::from_ymd_opt(2025, 2, 20).unwrap(),
            Money(cases * 10_655 * 100),
        )
    };
    app.store
        .add_orders(&[case("T-1", 807, "省外烟"), case("T-2", 2275, "省内烟")])
        .await
        .unwrap();
    // February alone (January holds the world's own orders).
    let mut months = vec![json!(0), json!(3017)];
    months.extend(std::iter::repeat_n(json!(0), 10));
    let mut sales = vec![json!(0), json!(format!("{}", 3017 * 10_749))];
    sales.extend(std::iter::repeat_n(json!(0), 10));
    for (metric, amount, months) in [
        ("quantity", json!(3017), months),
        ("sales_amount", json!(format!("{}", 3017 * 10_749)), sales),
    ] {
        let (s, v) = app
            .call(
                &director,
                "POST",
                "/targets",
                Some(json!({"level": "user", "subject_id": w.ma.id, "metric": metric, "year": 2025, "amount": amount, "months": months})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, p) = get(
        app,
        &director,
        &format!(
            "/performance?subject_id={}&metric=quantity&from=2025-02-01&to=2025-02-28&as_of=2025-02-28&average_price=true&share_of=省外烟",
            w.ma.id
        ),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        (p["plan"].as_str(), p["actual"].as_str()),
        (Some("3017"), Some("3082"))
    );
    assert_eq!(p["completion"], 1.0215, "102%");
    assert_eq!(p["share"]["part"], "807");
    assert_eq!(p["share"]["whole"], "3082");
    assert_eq!(p["share"]["share"], 0.2618, "26%");
    assert_eq!(p["average_price"]["actual"], "10655.00");
    assert_eq!(p["average_price"]["plan"], "10749.00");
    assert_eq!(p["average_price"]["gap"], "-94.00");
    let (s, v) = get(
        app,
        &director,
        &format!(
            "/performance?subject_id={}&metric=visits&share_of=省外烟",
            w.ma.id
        ),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["details"]["fields"][0]["field"], "share_of");
}
