//! Real files built in the test: encodings, delimiters, headers in Chinese
//! and English, spreadsheets, contacts and orders.

use keqing_domain::contact::ContactLevel;
use keqing_domain::customer::CompanyType;
use keqing_domain::Money;
use keqing_io::{
    import_contacts, import_customers, import_orders, read_table, read_table_bytes, CustomerRef,
    ImportOptions, IoError, ReadOptions, RowIssue, TableSource, TextEncoding,
};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

const ZH: &str = "客户名称,企业性质,城市,单位电话,电子邮箱,统一社会信用代码,联系人,手机,生日\n\
江苏恒远钢业有限公司,民营,南京市,025-86001234,sales@hengyuan.cn,91320100MA1XYZ1234,王伟,13812345678,1975-08-15\n\
杭州华信电子有限公司,国有,杭州市,(0571)87654321,,91330100MA2ABC5678,李娜,139 1234 5678,农历04-30\n";

fn opts() -> ImportOptions {
    ImportOptions::default()
}

fn read(bytes: &[u8], name: &str) -> keqing_io::Table {
    read_table_bytes(bytes, name, &ReadOptions::default()).unwrap()
}

#[test]
fn utf8_with_and_without_bom() {
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(ZH.as_bytes());
    for (bytes, enc) in [
        (ZH.as_bytes().to_vec(), TextEncoding::Utf8),
        (bom, TextEncoding::Utf8Bom),
    ] {
        let t = read(&bytes, "customers.csv");
        assert!(matches!(t.source, TableSource::Csv { encoding, .. } if encoding == enc));
        assert_eq!(t.headers[0], "客户名称", "no BOM in the first header");
        let b = import_customers(&t, &opts()).unwrap();
        assert!(b.errors.is_empty(), "{:?}", b.errors);
        assert_eq!(b.records.len(), 2);
        let (line, r) = &b.records[1];
        assert_eq!(*line, 3);
        assert_eq!(r.customer.company_type, Some(CompanyType::StateOwned));
        assert_eq!(r.customer.phone.as_ref().unwrap().as_str(), "0571-87654321");
        let c = r.contact.as_ref().unwrap();
        assert_eq!(c.mobile.as_ref().unwrap().as_str(), "13912345678");
        assert_eq!(c.birthday.unwrap().to_string(), "农历04-30");
    }
}

#[test]
fn gbk_file_with_one_corrupt_row() {
    let mut text = ZH.to_string();
    text.push_str("成都天成建材有限公司,民营,成都市,028-85551234,,,张磊,13700001111,\n");
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let mut bytes = gbk.into_owned();
    // Line 5: a row whose city is cut in the middle of a two-byte character.
    bytes.extend_from_slice(&encoding_rs::GBK.encode("武汉金桥物流,民营,").0);
    bytes.extend_from_slice(b"\xCE");
    bytes.extend_from_slice(&encoding_rs::GBK.encode(",027-85550000,,,,,\n").0);
    bytes.extend_from_slice(
        &encoding_rs::GBK
            .encode("济南瑞丰农业,其他,济南市,,,,,,\n")
            .0,
    );
    let t = read(&bytes, "客户.csv");
    assert!(matches!(
        t.source,
        TableSource::Csv {
            encoding: TextEncoding::Gb18030,
            ..
        }
    ));
    assert_eq!(
        t.rows[3].issue,
        Some(RowIssue::BadEncoding { column_index: 3 })
    );
    let b = import_customers(&t, &opts()).unwrap();
    assert_eq!(
        b.records.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![2, 3, 4, 6]
    );
    assert_eq!(b.records[2].1.customer.name, "成都天成建材有限公司");
    assert_eq!(b.errors.len(), 1);
    let e = &b.errors[0];
    assert_eq!(
        (e.line, e.column.as_deref(), e.column_index),
        (5, Some("城市"), Some(3))
    );
    assert!(e.message.starts_with("编码错误 bad encoding"), "{e:?}");
}

#[test]
fn utf8_file_with_one_row_of_invalid_bytes() {
    let mut bytes = ZH.as_bytes().to_vec();
    bytes.extend_from_slice("坏行公司,民营,".as_bytes());
    bytes.extend_from_slice(b"\xC0\xAF\xE4");
    bytes.extend_from_slice(",,,,,,\n".as_bytes());
    bytes.extend_from_slice("最后公司,,,,,,,,\n".as_bytes());
    let t = read(&bytes, "c.csv");
    assert!(matches!(
        t.source,
        TableSource::Csv {
            encoding: TextEncoding::Utf8,
            ..
        }
    ));
    let b = import_customers(&t, &opts()).unwrap();
    assert_eq!(
        b.records.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![2, 3, 5]
    );
    assert_eq!(b.errors.len(), 1);
    assert_eq!(b.errors[0].line, 4);
    assert_eq!(b.errors[0].column.as_deref(), Some("城市"));
}

#[test]
fn english_headers_tabs_and_semicolons() {
    let en = "Name\tCompany Type\tPhone\tEmail\tExternal Code\tContact Name\tMobile\tContact Level\n\
Hengyuan Steel\tprivate\t025-86001234\tsales@hengyuan.cn\t91320100ma1xyz1234\tWang Wei\t13812345678\tdecision_maker\n";
    let t = read(en.as_bytes(), "customers.tsv");
    assert!(matches!(
        t.source,
        TableSource::Csv {
            delimiter: b'\t',
            ..
        }
    ));
    let b = import_customers(&t, &opts()).unwrap();
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    let r = &b.records[0].1;
    assert_eq!(
        r.customer.external_code.as_deref(),
        Some("91320100MA1XYZ1234")
    );
    assert_eq!(
        r.contact.as_ref().unwrap().level,
        Some(ContactLevel::DecisionMaker)
    );

    let semi = "客户名称;城市;备注信息\n\"甲;乙公司\";南京市;随便\n";
    let t = read(semi.as_bytes(), "x.csv");
    let b = import_customers(&t, &opts()).unwrap();
    assert_eq!(b.records[0].1.customer.name, "甲;乙公司");
    assert_eq!(b.warnings.len(), 1, "the unknown column is reported once");
    assert_eq!(b.warnings[0].column.as_deref(), Some("备注信息"));
}

#[test]
fn wrong_field_counts_name_the_column() {
    let csv = "客户名称,城市,单位电话\n甲公司,南京市\n乙公司,南京市,025-86001234,多余\n丙公司,南京市,025-86001235\n";
    let b = import_customers(&read(csv.as_bytes(), "c.csv"), &opts()).unwrap();
    assert_eq!(b.records.len(), 1);
    let e: Vec<_> = b
        .errors
        .iter()
        .map(|e| (e.line, e.column.clone(), e.column_index))
        .collect();
    assert_eq!(
        e,
        vec![
            (2, Some("单位电话".to_string()), Some(3)),
            (3, None, Some(4))
        ]
    );
}

#[test]
fn codes_excel_shortened_are_refused() {
    let csv = "客户名称,统一社会信用代码\n甲公司,9.13201E+17\n乙公司,91320100MA1XYZ1234\n";
    let b = import_customers(&read(csv.as_bytes(), "c.csv"), &opts()).unwrap();
    assert_eq!(b.records.len(), 1);
    assert_eq!(b.errors[0].line, 2);
    assert_eq!(b.errors[0].column.as_deref(), Some("统一社会信用代码"));
    let csv = "客户编号,订单号,日期,金额\nA1,2.02503E+11,2025-03-01,12\n";
    let b = import_orders(&read(csv.as_bytes(), "o.csv"), &opts()).unwrap();
    assert_eq!(b.errors[0].field.as_deref(), Some("external_id"));
}

#[test]
fn missing_required_columns_stop_the_file() {
    let e =
        import_customers(&read("城市,电话\n南京市,\n".as_bytes(), "c.csv"), &opts()).unwrap_err();
    assert!(matches!(
        e,
        IoError::MissingColumn {
            field: "name",
            header: "客户名称",
            ..
        }
    ));
    assert!(e.to_string().contains("客户名称"));
    let e = import_contacts(
        &read("姓名,手机\n王伟,13812345678\n".as_bytes(), "c.csv"),
        &opts(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            IoError::MissingColumn {
                field: "customer_id",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("客户名称"));
    let e =
        import_orders(&read("客户编号,金额\nA1,12\n".as_bytes(), "o.csv"), &opts()).unwrap_err();
    assert!(matches!(
        e,
        IoError::MissingColumn {
            field: "order_date",
            ..
        }
    ));
}

#[test]
fn explicit_mapping_overrides_recognition() {
    let csv = "户名,联系电话\n甲公司,025-86001234\n";
    let mut o = ImportOptions::default();
    o.mapping.insert("户名".into(), "name".into());
    o.mapping.insert("联系电话".into(), "phone".into());
    let b = import_customers(&read(csv.as_bytes(), "c.csv"), &o).unwrap();
    assert!(b.warnings.is_empty());
    assert_eq!(
        b.records[0].1.customer.phone.as_ref().unwrap().as_str(),
        "025-86001234"
    );
    o.mapping
        .insert("联系电话".into(), "telephone_number".into());
    assert!(matches!(
        import_customers(&read(csv.as_bytes(), "c.csv"), &o),
        Err(IoError::UnknownField { .. })
    ));
}

#[test]
fn contacts_file() {
    let csv = "客户编号,客户名称,姓名,手机,邮箱,微信,QQ,职务,级别,生日,爱好,备注\n\
91320100ma1xyz1234,江苏恒远钢业有限公司,王伟,13812345678,wang@hengyuan.cn,wangwei88,12345678,总经理,决策者,1975-08-15,钓鱼,不收礼\n\
,江苏恒远钢业有限公司,李娜,13912345678,,,,采购,执行人员,,,\n\
,,张磊,13700001111,,,,,,,,\n\
,江苏恒远钢业有限公司,李娜,139-1234-5678,,,,,,,,\n\
,某公司,赵敏,12345,,,1234,,上级,,,\n";
    let b = import_contacts(&read(csv.as_bytes(), "联系人.csv"), &opts()).unwrap();
    assert_eq!(b.records.len(), 2);
    assert_eq!(
        b.records[0].1.customer_ref,
        CustomerRef::ExternalCode("91320100MA1XYZ1234".into())
    );
    assert_eq!(
        b.records[0].1.customer_name.as_deref(),
        Some("江苏恒远钢业有限公司")
    );
    assert_eq!(
        b.records[1].1.customer_ref,
        CustomerRef::Name("江苏恒远钢业有限公司".into())
    );
    let e: Vec<_> = b
        .errors
        .iter()
        .map(|e| (e.line, e.column.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        e,
        vec![
            (4, "客户名称".to_string()),
            (5, "姓名".to_string()),
            (6, "手机".to_string()),
            (6, "QQ".to_string()),
            (6, "级别".to_string()),
        ]
    );
    assert!(
        b.errors[1].message.starts_with("与第3行重复"),
        "{:?}",
        b.errors[1]
    );
    assert!(b.errors[1].message.contains("duplicate of line 3"));
    assert_eq!(b.bad_rows(), 3);
}

#[test]
fn orders_file_dates_and_amounts() {
    let csv = "客户编号,订单号,下单时间,实付金额,数量,商品,渠道,门店,应付日期,付款日期\n\
A001,DD1,2025-03-01,\"¥1,234.50\",2,钢材,线上,鼓楼店,2025-03-31,20250325\n\
A001,DD2,20250301,88,,,,,,\n\
A002,DD3,2025/3/1 14:30,\"1,000\",1,,,,,\n\
A002,DD3,2025-03-02,5,1,,,,,\n\
A003,DD4,2025-02-30,1.234,x,,,,2025-13-01,\n";
    let b = import_orders(&read(csv.as_bytes(), "订单.csv"), &opts()).unwrap();
    assert_eq!(b.records.len(), 3);
    let o = &b.records[0].1;
    assert_eq!(o.amount, Money(123450));
    assert_eq!(o.quantity, 2);
    assert_eq!(o.ordered_at.to_string(), "2025-03-01 00:00:00");
    assert_eq!(o.paid_date.unwrap().to_string(), "2025-03-25");
    assert_eq!(b.records[1].1.quantity, 1, "no quantity means one");
    assert_eq!(b.records[2].1.ordered_at.to_string(), "2025-03-01 14:30:00");
    let n = b.records[2].1.to_new_order(42);
    assert_eq!(n.customer_id, 42);
    assert_eq!(
        n.ordered_at.to_rfc3339(),
        "2025-03-01T06:30:00+00:00",
        "China time to UTC"
    );
    let e: Vec<_> = b
        .errors
        .iter()
        .map(|e| (e.line, e.field.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        e,
        vec![
            (5, "external_id".to_string()),
            (6, "order_date".to_string()),
            (6, "amount".to_string()),
            (6, "quantity".to_string()),
            (6, "due_date".to_string()),
        ]
    );
}

#[test]
fn xlsx_written_then_read() {
    let mut book = Workbook::new();
    let notes = book.add_worksheet();
    notes.set_name("说明").unwrap();
    notes.write_string(0, 0, "这一页不是数据").unwrap();
    let ws = book.add_worksheet();
    ws.set_name("订单").unwrap();
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (j, h) in ["客户编号", "订单号", "下单时间", "金额", "数量"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, j as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "A001").unwrap();
    ws.write_number(1, 1, 20250301001.0).unwrap();
    ws.write_datetime_with_format(
        1,
        2,
        ExcelDateTime::parse_from_str("2025-03-01 14:30:00").unwrap(),
        &date_fmt,
    )
    .unwrap();
    ws.write_number(1, 3, 1234.5).unwrap();
    ws.write_number(1, 4, 3).unwrap();
    // Row 3 left blank; row 4 has a bad amount.
    ws.write_string(3, 0, "A002").unwrap();
    ws.write_string(3, 2, "2025-03-02").unwrap();
    ws.write_string(3, 3, "很多").unwrap();
    let bytes = book.save_to_buffer().unwrap();

    let by_name = ReadOptions {
        sheet: Some("订单".into()),
        ..Default::default()
    };
    let t = read_table_bytes(&bytes, "订单.xlsx", &by_name).unwrap();
    assert_eq!(
        t.source,
        TableSource::Sheet {
            name: "订单".into()
        }
    );
    assert_eq!(t.blank_rows, 1);
    let b = import_orders(&t, &opts()).unwrap();
    assert_eq!(b.records.len(), 1);
    let (line, o) = &b.records[0];
    assert_eq!(*line, 2);
    assert_eq!(
        o.external_id.as_deref(),
        Some("20250301001"),
        "a number typed as an order number"
    );
    assert_eq!(o.ordered_at.to_string(), "2025-03-01 14:30:00");
    assert_eq!(o.amount, Money(123450));
    assert_eq!(o.quantity, 3);
    assert_eq!(b.errors.len(), 1);
    assert_eq!(
        (
            b.errors[0].line,
            b.errors[0].column.as_deref(),
            b.errors[0].column_index
        ),
        (4, Some("金额"), Some(4))
    );
    assert_eq!(b.records.len() + b.bad_rows() + b.blank_rows, b.data_rows);

    // The first sheet by default; a missing sheet is a file error.
    let first = read_table_bytes(&bytes, "订单.xlsx", &ReadOptions::default()).unwrap();
    assert_eq!(first.headers, vec!["这一页不是数据"]);
    let missing = ReadOptions {
        sheet: Some("客户".into()),
        ..Default::default()
    };
    assert!(matches!(
        read_table_bytes(&bytes, "订单.xlsx", &missing),
        Err(IoError::NoSuchSheet { .. })
    ));
    // A spreadsheet uploaded under a CSV name is still read as a spreadsheet.
    assert!(matches!(
        read_table_bytes(&bytes, "upload.csv", &by_name)
            .unwrap()
            .source,
        TableSource::Sheet { .. }
    ));
}

#[test]
fn files_on_disk_and_bad_files() {
    let dir = std::env::temp_dir().join(format!("keqing-io-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("客户.csv");
    std::fs::write(&p, ZH).unwrap();
    let t = read_table(&p, &ReadOptions::default()).unwrap();
    assert_eq!(t.file_name, "客户.csv");
    assert_eq!(t.rows.len(), 2);
    assert!(matches!(
        read_table(&dir.join("nope.csv"), &ReadOptions::default()),
        Err(IoError::Read { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
    assert!(matches!(
        read_table_bytes(b"", "e.csv", &ReadOptions::default()),
        Err(IoError::Empty { .. })
    ));
    assert!(matches!(
        read_table_bytes(b"PK\x03\x04garbage", "x.xlsx", &ReadOptions::default()),
        Err(IoError::Spreadsheet { .. })
    ));
    assert!(matches!(
        read_table_bytes(b"a,b", "x.pdf", &ReadOptions::default()),
        Err(IoError::UnknownFormat { .. })
    ));
}

#[test]
fn xlsx_with_a_title_row_and_numbers_for_phones() {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.merge_range(0, 0, 0, 4, "2025年重点客户名单", &Format::new())
        .unwrap();
    for (j, h) in ["客户名称", "单位电话", "手机", "重点客户", "联系人"]
        .iter()
        .enumerate()
    {
        ws.write_string(1, j as u16, *h).unwrap();
    }
    ws.write_string(2, 4, "王伟").unwrap();
    ws.write_string(2, 0, "江苏恒远钢业有限公司").unwrap();
    ws.write_string(2, 1, "025-86001234").unwrap();
    ws.write_number(2, 2, 13812345678.0).unwrap();
    ws.write_boolean(2, 3, true).unwrap();
    ws.write_string(3, 0, "杭州华信电子有限公司").unwrap();
    ws.write_number(3, 2, 1381234.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let t = read(&bytes, "重点客户.xlsx");
    assert_eq!(t.header_line, 2);
    let b = import_customers(&t, &opts()).unwrap();
    assert_eq!(b.records.len(), 1, "{:?}", b.errors);
    let (line, r) = &b.records[0];
    assert_eq!(*line, 3);
    assert!(r.customer.key_customer);
    assert_eq!(
        r.contact
            .as_ref()
            .unwrap()
            .mobile
            .as_ref()
            .unwrap()
            .as_str(),
        "13812345678"
    );
    // A mobile without a contact name: both are reported.
    let e: Vec<_> = b
        .errors
        .iter()
        .map(|e| (e.line, e.field.clone(), e.column.clone()))
        .collect();
    assert!(
        e.contains(&(4, Some("contact_mobile".into()), Some("手机".into()))),
        "{e:?}"
    );
    assert!(
        e.contains(&(4, Some("contact_name".into()), Some("联系人".into()))),
        "{e:?}"
    );

    // Contact columns without the contact's name: one error for the file.
    let csv = "客户名称,手机
甲公司,13812345678
";
    let e = import_customers(&read(csv.as_bytes(), "c.csv"), &opts()).unwrap_err();
    assert!(
        matches!(
            e,
            IoError::MissingColumn {
                field: "contact_name",
                header: "联系人",
                ..
            }
        ),
        "{e}"
    );
}
