//! An exported file imports back into the same records, in every format,
//! encoding and header language.

use keqing_domain::custom_field::{check_values, definitions_from_json, CustomFieldDef};
use keqing_domain::{ContactInput, CustomerInput};
use keqing_io::{
    import_contacts, import_customers, read_table_bytes, write_contacts_csv, write_contacts_xlsx,
    write_customers_csv, write_customers_xlsx, ContactRow, CsvEncoding, CustomerRef, CustomerRow,
    ExportOptions, ImportOptions, IoError, Lang, ReadOptions,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn sample_customers() -> Vec<CustomerRow> {
    let a = CustomerInput::from_json(&obj(json!({
        "name": "江苏恒远钢业有限公司", "kind": "公司", "company_type": "民营", "industry": "钢铁",
        "province": "江苏省", "city": "南京市", "district": "鼓楼区",
        "address": "中山路1号, A座\n三楼 \"东\"", "phone": "025-86001234", "website": "www.hengyuan.cn",
        "email": "sales@hengyuan.cn", "external_code": "91320100MA1XYZ1234", "source": "亲友介绍",
        "referrer_id": "7", "stage": "订单客户", "business_stage": "老客户", "class": "A", "tier": "水晶",
        "tags": "钢材,重点", "key_customer": "是", "parent_id": "3",
        "card": {"interests": "高尔夫, 普洱茶", "recent_events": "女儿刚考上大学，很高兴",
                 "business_progress": "二期钢材招标中", "taboos": "忌讳数字4", "gifts_forbidden": true,
                 "gift_policy": "单笔不超过200元", "preferred_contact_time": "工作日上午"},
        "key_dates": [{"name": "公司成立日", "date": "2006-05-18"},
                      {"name": "周年庆", "date": "2001-08-15", "lunar": true}]
    })))
    .unwrap();
    let c = ContactInput::from_json(&obj(json!({
        "name": "王伟", "mobile": "13812345678", "title": "总经理", "birthday": "农历闰04-30",
        "level": "决策者", "email": "wang@hengyuan.cn"
    })))
    .unwrap();
    let b = CustomerInput::from_json(&obj(
        json!({"name": "=HYPERLINK(\"x\")", "kind": "individual"}),
    ))
    .unwrap();
    let d = CustomerInput::from_json(&obj(
        json!({"name": "'=已经有引号", "phone": "13900001111"}),
    ))
    .unwrap();
    vec![
        CustomerRow {
            customer: a,
            contact: Some(c),
        },
        CustomerRow {
            customer: b,
            contact: None,
        },
        CustomerRow {
            customer: d,
            contact: None,
        },
    ]
}

fn sample_contacts() -> Vec<ContactRow> {
    let c = |v: Value| ContactInput::from_json(&obj(v)).unwrap();
    vec![
        ContactRow {
            customer_ref: CustomerRef::ExternalCode("91320100MA1XYZ1234".into()),
            customer_name: Some("江苏恒远钢业有限公司".into()),
            contact: c(json!({
                "name": "王伟", "mobile": "13812345678", "phone": "025-86001234转8", "email": "wang@hengyuan.cn",
                "wechat": "wangwei88", "qq": "12345678", "title": "总经理", "level": "decision_maker",
                "buying_role": "决策者", "style": "分析型", "birthday": "1975-08-15", "hobbies": "钓鱼, 茶",
                "notes": "不收礼\n周末勿扰"
            })),
        },
        ContactRow {
            customer_ref: CustomerRef::Name("杭州华信电子有限公司".into()),
            customer_name: None,
            contact: c(json!({"name": "李娜"})),
        },
        ContactRow {
            customer_ref: CustomerRef::Id(42),
            customer_name: Some("成都天成建材".into()),
            contact: c(json!({"name": "张磊", "level": "执行人员"})),
        },
    ]
}

fn customers_back(bytes: &[u8], name: &str) -> Vec<CustomerRow> {
    customers_back_with(bytes, name, &[])
}

/// What an import with the deployment's custom fields reads from a file.
fn customers_back_with(bytes: &[u8], name: &str, custom: &[CustomFieldDef]) -> Vec<CustomerRow> {
    let t = read_table_bytes(bytes, name, &ReadOptions::default()).unwrap();
    let opts = ImportOptions {
        custom_fields: custom.to_vec(),
        ..Default::default()
    };
    let b = import_customers(&t, &opts).unwrap();
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    b.records.into_iter().map(|(_, r)| r).collect()
}

fn contacts_back(bytes: &[u8], name: &str) -> Vec<ContactRow> {
    let t = read_table_bytes(bytes, name, &ReadOptions::default()).unwrap();
    let b = import_contacts(&t, &ImportOptions::default()).unwrap();
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    b.records.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn customers_in_every_format() {
    let rows = sample_customers();
    for lang in [Lang::Zh, Lang::En] {
        for encoding in [
            CsvEncoding::Utf8Bom,
            CsvEncoding::Utf8,
            CsvEncoding::Gbk,
            CsvEncoding::Gb18030,
        ] {
            let bytes = write_customers_csv(&rows, &[], ExportOptions { lang, encoding }).unwrap();
            assert_eq!(
                customers_back(&bytes, "c.csv"),
                rows,
                "{lang:?} {encoding:?}"
            );
        }
        let bytes = write_customers_xlsx(&rows, &[], lang).unwrap();
        assert_eq!(customers_back(&bytes, "c.xlsx"), rows, "{lang:?} xlsx");
    }
}

#[test]
fn chinese_export_is_what_excel_users_expect() {
    let bytes = write_customers_csv(&sample_customers(), &[], ExportOptions::default()).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("客户名称,客户类型,企业性质"));
    assert!(text.contains(",民营,"), "labels, not ids");
    assert!(
        text.contains("'=HYPERLINK"),
        "no formula runs when Excel opens it"
    );
    let en = write_customers_csv(
        &sample_customers(),
        &[],
        ExportOptions {
            lang: Lang::En,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&en).contains("name,kind,company_type"));
}

#[test]
fn contacts_in_every_format() {
    let rows = sample_contacts();
    for lang in [Lang::Zh, Lang::En] {
        for encoding in [CsvEncoding::Utf8Bom, CsvEncoding::Gbk] {
            let bytes = write_contacts_csv(&rows, ExportOptions { lang, encoding }).unwrap();
            assert_eq!(
                contacts_back(&bytes, "c.csv"),
                rows,
                "{lang:?} {encoding:?}"
            );
        }
        let bytes = write_contacts_xlsx(&rows, lang).unwrap();
        assert_eq!(contacts_back(&bytes, "c.xlsx"), rows, "{lang:?} xlsx");
    }
}

#[test]
fn gbk_refuses_what_it_cannot_write() {
    let mut rows = sample_customers();
    rows[1].customer.name = "表情😀公司".into();
    let e = write_customers_csv(
        &rows,
        &[],
        ExportOptions {
            encoding: CsvEncoding::Gbk,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            IoError::NotEncodable {
                ch: '😀',
                line: 4,
                ..
            }
        ),
        "{e}"
    );
    let ok = write_customers_csv(
        &rows,
        &[],
        ExportOptions {
            encoding: CsvEncoding::Gb18030,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(customers_back(&ok, "c.csv"), rows);
}

fn text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-zA-Z0-9 ,;\"'=+@\\-\n\u{4e00}-\u{4e30}，、（）]{1,16}")
}

/// Text of a field that must be one line (a name, a city): a line break
/// there is refused on import (`fields::may_span_lines`).
fn line() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-zA-Z0-9 ,;\"'=+@\\-\u{4e00}-\u{4e30}，、（）]{1,16}")
}

fn pick(xs: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(proptest::sample::select(xs).prop_map(str::to_string))
}

/// A salon's custom fields (SPEC §1), with options that hold the
/// separators of a multi choice and a space.
fn salon() -> Vec<CustomFieldDef> {
    definitions_from_json(&json!({"fields": [
        {"key": "skin", "label": "肤质", "type": "choice", "options": ["干性", "油性/混合", "T区 偏油"]},
        {"key": "concerns", "label": "护理需求", "type": "multi_choice", "options": ["补水", "美白", "抗衰、紧致", "去黄/提亮"]},
        {"key": "visits", "label": "到店次数", "type": "number"},
        {"key": "balance", "label": "储值余额（元）", "type": "number"},
        {"key": "first_visit", "label": "首次到店", "type": "date"},
        {"key": "note", "label": "护理备注", "type": "text"}
    ]}))
    .unwrap()
}

prop_compose! {
    /// Custom values as the API stores them: checked and normalised.
    fn custom_values()(
        skin in pick(&["干性", "油性/混合", "T区 偏油"]),
        concerns in proptest::sample::subsequence(vec!["补水", "美白", "抗衰、紧致", "去黄/提亮"], 0..=4),
        visits in proptest::option::of(-1000i64..100_000),
        balance in proptest::option::of(0u32..10_000_000),
        first_visit in proptest::option::of(0u64..20_000),
        note in text(),
    ) -> std::collections::BTreeMap<String, Value> {
        let day = |d: u64| chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Days::new(d);
        let given = obj(json!({
            "skin": skin, "concerns": concerns, "visits": visits,
            "balance": balance.map(|fen| f64::from(fen) / 100.0),
            "first_visit": first_visit.map(|d| day(d).format("%Y-%m-%d").to_string()),
            "note": note,
        }));
        check_values(&salon(), &given.into_iter().collect()).unwrap()
    }
}

prop_compose! {
    fn customer_row()(
        name in "[a-zA-Z0-9 ,\"'=@\\-\u{4e00}-\u{4e30}（）]{1,20}",
        kind in pick(&["company", "individual"]),
        company_type in pick(&["国有", "民营", "外资", "事业单位", "政府", "其他"]),
        industry in line(), city in line(), address in text(),
        phone in pick(&["025-86001234", "0571-87654321-12", "13812345678", "010-62345678"]),
        email in pick(&["a@b.cn", "Li.Ming@example.com"]),
        code in proptest::option::of("[0-9A-Z]{18}"),
        source in pick(&["亲友介绍", "广告", "媒体", "上门", "其他"]),
        stage in pick(&["待识别", "潜在客户", "销售机会", "订单客户", "用户"]),
        class in pick(&["A", "B", "C", "D"]),
        tags in pick(&["钢材,重点", "甲", "a、b；c"]),
        key in pick(&["是", "否"]),
        contact_name in line(),
        mobile in pick(&["13912345678", "15800001111"]),
        birthday in pick(&["1980-05-03", "05-03", "农历04-30", "农历闰1984-10-01"]),
        level in pick(&["执行人员", "负责人", "决策者"]),
    ) -> Option<CustomerRow> {
        let customer = CustomerInput::from_json(&obj(json!({
            "name": name, "kind": kind, "company_type": company_type, "industry": industry,
            "city": city, "address": address, "phone": phone, "email": email, "external_code": code,
            "source": source, "stage": stage, "class": class, "tags": tags, "key_customer": key,
        }))).ok();
        let contact = match contact_name {
            None => Some(None),
            Some(n) => ContactInput::from_json(&obj(json!({
                "name": n, "mobile": mobile, "birthday": birthday, "level": level
            }))).ok().map(Some),
        };
        match (customer, contact) {
            (Some(customer), Some(contact)) => Some(CustomerRow { customer, contact }),
            _ => None,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_custom_values_round_trip(values in proptest::collection::vec(custom_values(), 1..6), gbk in any::<bool>(), zh in any::<bool>()) {
        let defs = salon();
        let rows: Vec<CustomerRow> = values
            .into_iter()
            .enumerate()
            .map(|(i, custom)| {
                let mut customer = CustomerInput::from_json(&obj(json!({"name": format!("客户{i}")}))).unwrap();
                customer.custom = custom;
                CustomerRow { customer, contact: None }
            })
            .collect();
        let lang = if zh { Lang::Zh } else { Lang::En };
        let encoding = if gbk { CsvEncoding::Gbk } else { CsvEncoding::Utf8Bom };
        let csv = write_customers_csv(&rows, &defs, ExportOptions { lang, encoding }).unwrap();
        prop_assert_eq!(customers_back_with(&csv, "p.csv", &defs), rows.clone());
        let xlsx = write_customers_xlsx(&rows, &defs, lang).unwrap();
        prop_assert_eq!(customers_back_with(&xlsx, "p.xlsx", &defs), rows);
    }

    #[test]
    fn any_customers_round_trip(rows in proptest::collection::vec(customer_row(), 1..8), gbk in any::<bool>(), zh in any::<bool>()) {
        // Rows the domain refuses, and repeats, are not what an export holds.
        let mut seen_codes = std::collections::HashSet::new();
        let mut seen_keys = std::collections::HashSet::new();
        let rows: Vec<CustomerRow> = rows
            .into_iter()
            .flatten()
            .filter(|r| r.customer.external_code.as_ref().is_none_or(|c| seen_codes.insert(c.clone())))
            .filter(|r| r.customer.dedup_key().is_none_or(|k| seen_keys.insert(k)))
            .collect();
        prop_assume!(!rows.is_empty());
        let lang = if zh { Lang::Zh } else { Lang::En };
        let encoding = if gbk { CsvEncoding::Gbk } else { CsvEncoding::Utf8Bom };
        let csv = write_customers_csv(&rows, &[], ExportOptions { lang, encoding }).unwrap();
        prop_assert_eq!(customers_back(&csv, "p.csv"), rows.clone());
        let xlsx = write_customers_xlsx(&rows, &[], lang).unwrap();
        prop_assert_eq!(customers_back(&xlsx, "p.xlsx"), rows);
    }
}

#[test]
fn templates_import_as_empty_files() {
    use keqing_io::{import_orders, write_template_csv, write_template_xlsx, RecordKind};
    for lang in [Lang::Zh, Lang::En] {
        for kind in [RecordKind::Customer, RecordKind::Contact, RecordKind::Order] {
            let csv = write_template_csv(
                kind,
                ExportOptions {
                    lang,
                    ..Default::default()
                },
            )
            .unwrap();
            let xlsx = write_template_xlsx(kind, lang).unwrap();
            for (bytes, name) in [(csv, "t.csv"), (xlsx, "t.xlsx")] {
                let t = read_table_bytes(&bytes, name, &ReadOptions::default()).unwrap();
                assert_eq!(t.data_rows(), 0);
                let o = ImportOptions::default();
                let warnings = match kind {
                    RecordKind::Customer => import_customers(&t, &o).unwrap().warnings,
                    RecordKind::Contact => import_contacts(&t, &o).unwrap().warnings,
                    RecordKind::Order => import_orders(&t, &o).unwrap().warnings,
                };
                assert!(
                    warnings.is_empty(),
                    "{kind:?} {lang:?} {name}: {warnings:?}"
                );
            }
        }
    }
}

/// A customers export with several contacts a customer: the customers
/// (without a primary contact's columns) and every contact beside them, as
/// a workbook of two sheets or two CSV files, import back through the
/// import kinds as they are (customers, then contacts) into the same
/// records: each contact with its customer, its lunar or solar birthday
/// and its consent per channel.
#[test]
fn customers_with_several_contacts_come_back_with_every_contact() {
    let mut customers = sample_customers();
    for r in &mut customers {
        r.contact = None;
    }
    let c = |v: Value| ContactInput::from_json(&obj(v)).unwrap();
    let hengyuan = |contact| ContactRow {
        customer_ref: CustomerRef::ExternalCode("91320100MA1XYZ1234".into()),
        customer_name: Some("江苏恒远钢业有限公司".into()),
        contact,
    };
    let contacts = vec![
        hengyuan(c(json!({
            "name": "王伟", "mobile": "13812345678", "title": "总经理", "birthday": "农历闰04-30",
            "level": "决策者", "email": "wang@hengyuan.cn",
            "consent": {"phone": true, "sms": false, "email": true, "wechat": true}
        }))),
        hengyuan(c(json!({
            "name": "陈静", "mobile": "13912345678", "title": "采购经理", "birthday": "1982-11-03",
            "level": "负责人", "wechat": "chenjing82", "buying_role": "评估者",
            "consent": {"phone": false, "sms": false, "email": false, "wechat": false}
        }))),
        hengyuan(c(json!({
            "name": "刘洋", "phone": "025-86001234转8", "birthday": "农历1975-08-15", "level": "执行人员",
            "notes": "周末勿扰"
        }))),
        ContactRow {
            customer_ref: CustomerRef::Name("'=已经有引号".into()),
            customer_name: None,
            contact: c(json!({"name": "赵敏", "birthday": "02-29", "consent": {"email": true}})),
        },
    ];
    let read = |bytes: &[u8], name: &str, kind| {
        read_table_bytes(
            bytes,
            name,
            &ReadOptions {
                kind: Some(kind),
                ..Default::default()
            },
        )
        .unwrap()
    };
    let check =
        |customers_table: keqing_io::Table, contacts_table: keqing_io::Table, what: &str| {
            let b = import_customers(&customers_table, &ImportOptions::default()).unwrap();
            assert!(b.errors.is_empty(), "{what}: {:?}", b.errors);
            let back: Vec<CustomerRow> = b.records.into_iter().map(|(_, r)| r).collect();
            assert_eq!(
                back, customers,
                "{what}: the customers, without contact columns"
            );
            let b = import_contacts(&contacts_table, &ImportOptions::default()).unwrap();
            assert!(b.errors.is_empty(), "{what}: {:?}", b.errors);
            let back: Vec<ContactRow> = b.records.into_iter().map(|(_, r)| r).collect();
            assert_eq!(back, contacts, "{what}: every contact");
            assert_eq!(back.len(), 4);
        };
    for lang in [Lang::Zh, Lang::En] {
        let book = keqing_io::write_customer_book(&customers, &contacts, &[], lang).unwrap();
        check(
            read(&book, "export.xlsx", keqing_io::RecordKind::Customer),
            read(&book, "export.xlsx", keqing_io::RecordKind::Contact),
            &format!("{lang:?} workbook"),
        );
        for encoding in [CsvEncoding::Utf8Bom, CsvEncoding::Gbk] {
            let opts = ExportOptions { lang, encoding };
            let c = write_customers_csv(&customers, &[], opts).unwrap();
            let p = write_contacts_csv(&contacts, opts).unwrap();
            assert!(
                !String::from_utf8_lossy(&c).contains(if lang == Lang::Zh {
                    "联系人手机"
                } else {
                    "contact_mobile"
                }),
                "no primary contact columns"
            );
            check(
                read(&c, "customers.csv", keqing_io::RecordKind::Customer),
                read(&p, "customers-contacts.csv", keqing_io::RecordKind::Contact),
                &format!("{lang:?} {encoding:?} CSV files"),
            );
        }
    }
    // The workbook's sheets are named for what they hold.
    let book = keqing_io::write_customer_book(&customers, &contacts, &[], Lang::Zh).unwrap();
    let first = read_table_bytes(&book, "export.xlsx", &ReadOptions::default()).unwrap();
    assert_eq!(
        first.source,
        keqing_io::TableSource::Sheet {
            name: "客户".into()
        }
    );
    let text =
        String::from_utf8_lossy(&write_contacts_csv(&contacts, ExportOptions::default()).unwrap())
            .to_string();
    assert!(
        text.contains("允许电话联系,允许短信,允许邮件,允许微信联系"),
        "{text}"
    );
    assert!(text.contains("农历闰04-30"), "{text}");
}

/// A consent column holds 是 or 否; anything else is named with its column.
#[test]
fn a_consent_column_holds_yes_or_no() {
    let file = "客户名称,姓名,允许短信,允许邮件\n甲公司,王伟,否,是\n甲公司,李娜,也许,\n";
    let t = read_table_bytes(file.as_bytes(), "c.csv", &ReadOptions::default()).unwrap();
    let b = import_contacts(&t, &ImportOptions::default()).unwrap();
    assert_eq!(b.records.len(), 1);
    let consent = b.records[0].1.contact.consent;
    assert!(!consent.sms && consent.email && consent.phone && consent.wechat);
    assert_eq!(b.errors.len(), 1);
    assert_eq!(
        (b.errors[0].line, b.errors[0].column.as_deref()),
        (3, Some("允许短信"))
    );
    assert!(b.errors[0].message.starts_with("应填“是”或“否”"));
}
