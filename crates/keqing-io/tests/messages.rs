//! What a user reads about a bad row: every message leads with Chinese (a
//! short phrase, then the English text as before), and names its line and
//! field.

use keqing_io::{
    import_contacts, import_customers, import_orders, preview, read_table_bytes, ImportOptions,
    IoError, ReadOptions, RecordKind, RowError,
};

fn cjk_first(s: &str) -> bool {
    s.starts_with(|c: char| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

fn read(bytes: &[u8], name: &str) -> keqing_io::Table {
    read_table_bytes(bytes, name, &ReadOptions::default()).unwrap()
}

/// Each expected (line, field, Chinese phrase, English words) is reported,
/// and every error leads with Chinese and names its line.
fn check(errors: &[RowError], expected: &[(usize, Option<&str>, &str, &str)]) {
    for e in errors {
        assert!(cjk_first(&e.message), "not Chinese first: {e:?}");
        let shown = e.to_string();
        assert!(
            shown.contains(&format!("第{}行", e.line))
                && shown.contains(&format!("line {}", e.line)),
            "{shown}"
        );
    }
    for (line, field, zh, en) in expected {
        assert!(
            errors.iter().any(|e| e.line == *line
                && e.field.as_deref() == *field
                && e.message.starts_with(zh)
                && e.message.contains(en)),
            "no error {zh:?} / {en:?} on line {line} ({field:?}) in {errors:#?}"
        );
    }
}

#[test]
fn every_bad_customer_row_is_explained_in_chinese_first() {
    let mut file = "客户名称,单位电话,电子邮箱,统一社会信用代码,客户分类,联系人,手机,生日\n\
江苏恒远钢业有限公司,025-86001234,,91320100MA1XYZ1234,A,王伟,13812345678,1975-08-15\n\
杭州华信电子有限公司,12345,,,,,,\n\
成都天成建材有限公司,028-85551234,,,,张磊,010-62345678,\n\
武汉金桥物流有限公司,027-85550000,,,,刘洋,13700001111,1981-02-29\n\
,025-86005678,,,,,,\n\
江苏恒远钢业有限公司,025-86001234,,,,,,\n\
南京新城置业有限公司,025-86007777,no-at-sign,,Z,,,\n\
苏州工业园区某公司,0512-66001234,,91320100MA1XYZ1234,,,,\n\
无锡太湖机械有限公司,0510-88001234\n\
常州,0519-1,2,3,4,5,6,7,8,9\n"
        .as_bytes()
        .to_vec();
    // Line 12: bytes that are not UTF-8.
    file.extend_from_slice(b"\xff\xfe\xfd,025-86009999,,,,,,\n");
    let t = read(&file, "customers.csv");
    let b = import_customers(&t, &ImportOptions::default()).unwrap();
    check(
        &b.errors,
        &[
            (
                3,
                Some("phone"),
                "电话号码格式不正确",
                "not a Chinese mobile or landline number",
            ),
            (
                4,
                Some("contact_mobile"),
                "手机号码格式不正确",
                "not a mobile number",
            ),
            (
                5,
                Some("contact_birthday"),
                "生日格式不正确",
                "not a birthday",
            ),
            (6, Some("name"), "缺少客户名称", "a customer needs a name"),
            (7, Some("name"), "与第2行重复", "duplicate of line 2"),
            (
                8,
                Some("email"),
                "电子邮箱格式不正确",
                "not an e-mail address",
            ),
            (
                8,
                Some("class"),
                "客户分类只能是",
                "class must be A, B, C or D",
            ),
            (
                9,
                Some("external_code"),
                "与第2行重复",
                "duplicate of line 2",
            ),
            (10, None, "缺少列", "missing column"),
            (11, None, "多余的列", "extra fields"),
            (12, None, "编码错误", "bad encoding"),
        ],
    );
    assert_eq!(b.bad_rows(), 10, "{:#?}", b.errors);
}

#[test]
fn every_bad_order_row_is_explained_in_chinese_first() {
    let file = "客户名称,订单号,下单日期,金额,数量,付款日期,备用\n\
江苏恒远钢业有限公司,SO-1,2025-03-01,1280.00,1,,\n\
江苏恒远钢业有限公司,SO-2,2025-03-02,abc,1,,\n\
江苏恒远钢业有限公司,SO-3,2025-03-03,1.234,1,,\n\
江苏恒远钢业有限公司,SO-4,2025-02-30,100,1,,\n\
江苏恒远钢业有限公司,SO-1,2025-03-05,100,1,,\n\
江苏恒远钢业有限公司,SO-6,2025-03-06,,1,,\n\
,SO-7,2025-03-07,100,1,,\n\
江苏恒远钢业有限公司,SO-8,2025-03-08,100,两,,\n\
江苏恒远钢业有限公司,SO-9,2025-03-09,100,1,昨天,\n\
江苏恒远钢业有限公司,9.13201E+17,2025-03-10,100,1,,\n";
    let t = read(file.as_bytes(), "orders.csv");
    let b = import_orders(&t, &ImportOptions::default()).unwrap();
    check(
        &b.errors,
        &[
            (3, Some("amount"), "金额格式不正确", "not an amount"),
            (
                4,
                Some("amount"),
                "金额最多保留两位小数",
                "more than two decimals",
            ),
            (5, Some("order_date"), "不是日期", "not a date"),
            (6, Some("external_id"), "与第2行重复", "duplicate of line 2"),
            (7, Some("amount"), "不能为空", "required value is empty"),
            (8, Some("customer_name"), "缺少客户", "names no customer"),
            (9, Some("quantity"), "数量应为整数", "not a whole number"),
            (10, Some("paid_date"), "不是日期", "not a date"),
            (
                11,
                Some("external_id"),
                "编号被Excel改成了科学计数法",
                "Excel shortened",
            ),
        ],
    );
    // The unknown column 备用 is a warning, in Chinese first too.
    assert!(!b.warnings.is_empty());
    for w in &b.warnings {
        assert!(cjk_first(&w.message), "{w:?}");
    }
}

#[test]
fn every_bad_contact_row_is_explained_in_chinese_first() {
    let file = "客户名称,姓名,手机,邮箱,QQ,生日,级别\n\
江苏恒远钢业有限公司,王伟,13812345678,,,,\n\
江苏恒远钢业有限公司,王伟,13812345678,,,,\n\
江苏恒远钢业有限公司,李娜,0571-87654321,,,,\n\
江苏恒远钢业有限公司,张磊,,zhang@,,,\n\
江苏恒远钢业有限公司,刘洋,,,12ab,,\n\
江苏恒远钢业有限公司,,13900001111,,,,\n\
江苏恒远钢业有限公司,陈静,,,,13-45,\n\
江苏恒远钢业有限公司,赵敏,,,,,大老板\n";
    let t = read(file.as_bytes(), "contacts.csv");
    let b = import_contacts(&t, &ImportOptions::default()).unwrap();
    check(
        &b.errors,
        &[
            (3, Some("name"), "与第2行重复", "duplicate of line 2"),
            (
                4,
                Some("mobile"),
                "手机号码格式不正确",
                "not a mobile number",
            ),
            (
                5,
                Some("email"),
                "电子邮箱格式不正确",
                "not an e-mail address",
            ),
            (
                6,
                Some("qq"),
                "应为5到12位数字的QQ号",
                "a QQ number is 5 to 12 digits",
            ),
            (7, Some("name"), "缺少联系人姓名", "a contact needs a name"),
            (8, Some("birthday"), "生日格式不正确", "not a birthday"),
            (9, Some("level"), "无法识别的取值", "unknown value"),
        ],
    );
}

#[test]
fn file_level_problems_lead_with_chinese_too() {
    let t = read("城市,单位电话\n南京,025-86001234\n".as_bytes(), "c.csv");
    let e = import_customers(&t, &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, IoError::MissingColumn { .. }));
    assert!(cjk_first(&e.to_string()), "{e}");
    let p = preview(RecordKind::Order, &t, &ImportOptions::default(), 5).unwrap();
    assert!(!p.file_errors.is_empty());
    for m in &p.file_errors {
        assert!(cjk_first(m), "{m}");
    }
    for (bytes, name) in [
        (&b""[..], "empty.csv"),
        (&b"PK\x03\x04 not really a zip"[..], "broken.xlsx"),
        (&b"x"[..], "notes.pdf"),
    ] {
        let e = read_table_bytes(bytes, name, &ReadOptions::default()).unwrap_err();
        assert!(cjk_first(&e.to_string()), "{e}");
    }
}

/// The relationship card's columns fill `card`; 禁止送礼 reads 是 / 否, and
/// anything else is reported on its own column, and the good rows are imported.
#[test]
fn relationship_card_columns_fill_the_card() {
    let file = "客户名称,兴趣爱好,禁忌与习俗,禁止送礼,方便联系的时间\n\
江苏恒远钢业有限公司,钓鱼,忌讳数字4,是,工作日上午\n\
杭州华信电子有限公司,,,也许,\n\
成都天成建材有限公司,,,,\n";
    let t = read(file.as_bytes(), "customers.csv");
    let b = import_customers(&t, &ImportOptions::default()).unwrap();
    check(
        &b.errors,
        &[(
            3,
            Some("card_gifts_forbidden"),
            "应填“是”或“否”",
            "expected yes/no",
        )],
    );
    assert_eq!(b.errors.len(), 1, "{:#?}", b.errors);
    assert_eq!(b.errors[0].column.as_deref(), Some("禁止送礼"));
    assert_eq!(b.records.len(), 2);
    let card = &b.records[0].1.customer.card;
    assert_eq!(card.interests.as_deref(), Some("钓鱼"));
    assert_eq!(card.taboos.as_deref(), Some("忌讳数字4"));
    assert!(card.gifts_forbidden);
    assert_eq!(card.preferred_contact_time.as_deref(), Some("工作日上午"));
    assert_eq!(b.records[1].1.customer.card, Default::default());
}

/// A cell of key dates (重要日期) fills `key_dates`; one that is not a name
/// and a date is reported on its own column, and the good rows are imported.
#[test]
fn key_dates_column_fills_the_key_dates() {
    let file = "客户名称,重要日期\n\
江苏恒远钢业有限公司,公司成立日 2006-05-18；周年庆 农历2001-08-15\n\
杭州华信电子有限公司,成立日 去年\n\
成都天成建材有限公司,\n";
    let t = read(file.as_bytes(), "customers.csv");
    let b = import_customers(&t, &ImportOptions::default()).unwrap();
    check(
        &b.errors,
        &[(3, Some("key_dates"), "重要日期格式不正确", "bad key dates")],
    );
    assert_eq!(b.errors.len(), 1, "{:#?}", b.errors);
    assert_eq!(b.errors[0].column.as_deref(), Some("重要日期"));
    assert_eq!(b.records.len(), 2);
    let dates = &b.records[0].1.customer.key_dates;
    assert_eq!(dates.len(), 2);
    assert_eq!(
        (
            dates[0].name.as_str(),
            dates[0].date.to_string().as_str(),
            dates[0].lunar
        ),
        ("公司成立日", "2006-05-18", false)
    );
    assert_eq!(
        (
            dates[1].name.as_str(),
            dates[1].date.to_string().as_str(),
            dates[1].lunar
        ),
        ("周年庆", "2001-08-15", true)
    );
    assert!(b.records[1].1.customer.key_dates.is_empty());
}

/// A file past a reader limit is refused in Chinese first, naming the limit
/// and its value (and the line and column when known); a quote left open
/// is a row error in Chinese first naming the line where it opened.
#[test]
fn limits_and_quotes_are_explained_in_chinese_first() {
    use keqing_io::Limit;
    for limit in [
        Limit::Rows,
        Limit::Columns,
        Limit::CellChars,
        Limit::SheetBytes,
        Limit::SharedStringsBytes,
        Limit::PartBytes,
        Limit::UnpackedBytes,
    ] {
        let e = IoError::TooLarge {
            file: "f.xlsx".into(),
            limit,
            line: Some(7),
            column: Some(3),
        };
        let shown = e.to_string();
        assert!(cjk_first(&shown), "{shown}");
        assert!(shown.contains("第7行 line 7, 第3列 column 3"), "{shown}");
        assert!(shown.ends_with(": f.xlsx"), "{shown}");
        let max = limit.max();
        // 1048576 as written: 1,048,576.
        let grouped = |n: u64| {
            let d = n.to_string();
            let mut s = String::new();
            for (i, c) in d.chars().enumerate() {
                if i > 0 && (d.len() - i).is_multiple_of(3) {
                    s.push(',');
                }
                s.push(c);
            }
            s
        };
        let written = if limit.name().ends_with("_bytes") {
            format!("{} MiB", grouped(max >> 20))
        } else {
            grouped(max)
        };
        assert!(shown.contains(&written), "{shown} lacks {written}");
    }
    let t = read(
        "客户名称,电话\n\"甲公司,1\n乙公司,13800000001\n\"丙\"公司,2\n丁公司,\"3".as_bytes(),
        "q.csv",
    );
    let b = import_customers(&t, &ImportOptions::default()).unwrap();
    check(
        &b.errors,
        &[
            (2, None, "引号后有多余字符", "opened at line 2"),
            (4, None, "引号后有多余字符", "opened at line 4"),
            (5, None, "引号未闭合", "opened at line 5 is never closed"),
        ],
    );
    assert_eq!(b.records.len(), 1);
}

/// Every value a user types from a list takes its Chinese label (and the
/// usual other words) as well as its id; a value that is none of them is
/// told with the Chinese labels in the Chinese half.
#[test]
fn chinese_values_are_accepted_and_the_choices_named_in_chinese() {
    let file = "客户名称,客户类型,企业性质,客户来源,生命周期,业务阶段,重点客户,禁止送礼,联系人,联系人级别\n\
甲公司,公司,民营,转介绍,潜在客户,老客户,是,否,王伟,决策者\n\
乙个人,个人,,上门,销售机会,意向客户,否,是,李娜,负责人\n\
丙企业,企业客户,国企,广告,订单客户,新开发,,,张磊,执行人员\n\
丁公司,company,private,referral,potential,existing,yes,no,刘洋,decision_maker\n\
戊公司,集体,,,,,,,,\n";
    let t = read(file.as_bytes(), "customers.csv");
    let b = import_customers(&t, &ImportOptions::default()).unwrap();
    assert_eq!(b.records.len(), 4, "{:#?}", b.errors);
    let kinds: Vec<&str> = b
        .records
        .iter()
        .map(|(_, r)| r.customer.kind.as_str())
        .collect();
    assert_eq!(kinds, ["company", "individual", "company", "company"]);
    // Chinese labels and ids read the same: 甲 and 丁 differ in their name only.
    let mut ding = b.records[3].1.customer.clone();
    ding.name = "甲公司".into();
    assert_eq!(b.records[0].1.customer, ding);
    assert_eq!(
        b.records[0].1.contact.as_ref().unwrap().level,
        b.records[3].1.contact.as_ref().unwrap().level
    );
    check(
        &b.errors,
        &[(
            6,
            Some("kind"),
            "无法识别的取值“集体”，应为公司、个人之一",
            "unknown value \"集体\"; expected one of company, individual",
        )],
    );
}
