//! A salon's customers file with its custom profile fields (SPEC §1: "a
//! salon's skin file"): the columns headed with a field's label or key fill
//! it, each value is checked as the API checks it, and every bad value is
//! reported with its line, column and reason while the good rows are kept.

use keqing_domain::custom_field::{definitions_from_json, CustomFieldDef};
use keqing_io::{
    import_customers, preview, read_table_bytes, ColumnStatus, ImportOptions, IoError, ReadOptions,
    RecordKind, RowError, Table, PREVIEW_ROWS,
};
use serde_json::{json, Value};

fn salon() -> Vec<CustomFieldDef> {
    definitions_from_json(&json!({"fields": [
        {"key": "skin", "label": "肤质", "type": "choice", "options": ["干性", "油性", "混合", "敏感"], "required": true},
        {"key": "concerns", "label": "护理需求", "type": "multi_choice", "options": ["补水", "美白", "抗衰", "祛痘"]},
        {"key": "visits", "label": "到店次数", "type": "number"},
        {"key": "first_visit", "label": "首次到店", "type": "date"},
        {"key": "allergy", "label": "过敏史", "type": "text"}
    ]}))
    .unwrap()
}

fn opts() -> ImportOptions {
    ImportOptions {
        custom_fields: salon(),
        ..Default::default()
    }
}

fn table(text: &str, name: &str) -> Table {
    read_table_bytes(text.as_bytes(), name, &ReadOptions::default()).unwrap()
}

/// Lines 2 and 3 good; 4 a skin that is no option; 5 a bad number and a bad
/// date; 6 no skin (required); 7 a care need that is no option and a bad
/// phone (the customer's own field, reported beside it).
const SALON_CSV: &str = "客户名称,手机,联系人,肤质,护理需求,到店次数,首次到店,过敏史,会员卡号\n\
张丽,13812345678,张丽,干性,补水、美白,12,2024年3月8日,芒果,V001\n\
王芳,13912345678,王芳,混合,\"抗衰，祛痘 / 补水\",\"1,200\",2024.5.1,,V002\n\
李娜,13712345678,李娜,中性,补水,3,2024-06-01,,V003\n\
赵敏,13612345678,赵敏,油性,,很多,2024-02-30,,V004\n\
孙悦,13512345678,孙悦,,美白,1,,,V005\n\
周婷,abc,周婷,敏感,瘦身,2,,,V006\n";

fn errors_at(errors: &[RowError], line: usize) -> Vec<(Option<&str>, Option<&str>, Option<usize>)> {
    errors
        .iter()
        .filter(|e| e.line == line)
        .map(|e| (e.field.as_deref(), e.column.as_deref(), e.column_index))
        .collect()
}

fn check_salon_batch(b: &keqing_io::ImportBatch<keqing_io::CustomerRow>) {
    assert_eq!(b.records.len(), 2, "{:?}", b.errors);
    assert_eq!(b.bad_rows(), 4);
    let (line, zhang) = &b.records[0];
    assert_eq!(*line, 2);
    assert_eq!(
        Value::Object(zhang.customer.custom.clone().into_iter().collect()),
        json!({"skin": "干性", "concerns": ["补水", "美白"], "visits": 12,
               "first_visit": "2024-03-08", "allergy": "芒果"})
    );
    let wang = &b.records[1].1.customer.custom;
    assert_eq!(wang["concerns"], json!(["抗衰", "祛痘", "补水"]));
    assert_eq!(wang["visits"], json!(1200));
    assert_eq!(wang["first_visit"], json!("2024-05-01"));
    assert!(!wang.contains_key("allergy"), "a blank cell is no value");

    assert_eq!(
        errors_at(&b.errors, 4),
        [(Some("custom.skin"), Some("肤质"), Some(4))]
    );
    let e = b.errors.iter().find(|e| e.line == 4).unwrap();
    // The column names the field: the reason does not repeat its label.
    assert_eq!(
        e.message,
        "不在可选项中 \"中性\" is not one of 干性、油性、混合、敏感"
    );
    assert_eq!(
        errors_at(&b.errors, 5),
        [
            (Some("custom.first_visit"), Some("首次到店"), Some(7)),
            (Some("custom.visits"), Some("到店次数"), Some(6)),
        ]
    );
    assert_eq!(
        errors_at(&b.errors, 6),
        [(Some("custom.skin"), Some("肤质"), Some(4))]
    );
    assert!(b
        .errors
        .iter()
        .any(|e| e.line == 6 && e.message.contains("必填")));
    let mut seven = errors_at(&b.errors, 7);
    seven.sort();
    assert_eq!(
        seven,
        [
            (Some("contact_mobile"), Some("手机"), Some(2)),
            (Some("custom.concerns"), Some("护理需求"), Some(5)),
        ]
    );
    // 会员卡号 is no field of this deployment: said once, its data left out.
    assert_eq!(b.warnings.len(), 1, "{:?}", b.warnings);
    assert_eq!(b.warnings[0].column.as_deref(), Some("会员卡号"));
}

#[test]
fn a_salon_file_fills_its_custom_fields_and_reports_every_bad_value() {
    let b = import_customers(&table(SALON_CSV, "客户.csv"), &opts()).unwrap();
    check_salon_batch(&b);
    // The same file from old software, in GBK.
    let (gbk, _, bad) = encoding_rs::GBK.encode(SALON_CSV);
    assert!(!bad);
    let t = read_table_bytes(&gbk, "客户.csv", &ReadOptions::default()).unwrap();
    check_salon_batch(&import_customers(&t, &opts()).unwrap());
}

#[test]
fn english_headers_name_the_fields_by_key() {
    let csv = "name,skin,concerns,custom.visits\n张丽,油性,美白|补水,3\n";
    let b = import_customers(&table(csv, "c.csv"), &opts()).unwrap();
    assert!(b.errors.is_empty() && b.warnings.is_empty(), "{b:?}");
    let c = &b.records[0].1.customer.custom;
    assert_eq!(
        (&c["skin"], &c["concerns"], &c["visits"]),
        (&json!("油性"), &json!(["美白", "补水"]), &json!(3))
    );
}

#[test]
fn without_definitions_the_columns_are_unknown() {
    let b = import_customers(&table(SALON_CSV, "c.csv"), &ImportOptions::default()).unwrap();
    assert_eq!(b.warnings.len(), 6, "{:?}", b.warnings);
    assert!(b.records.iter().all(|(_, r)| r.customer.custom.is_empty()));
    assert_eq!(b.bad_rows(), 1, "only the bad phone");
}

#[test]
fn a_file_without_the_column_of_a_required_field_is_refused_whole() {
    let csv = "客户名称,护理需求\n张丽,补水\n";
    let e = import_customers(&table(csv, "c.csv"), &opts()).unwrap_err();
    assert!(
        matches!(&e, IoError::MissingCustomColumn { key, label } if key == "skin" && label == "肤质"),
        "{e}"
    );
    assert!(e.to_string().contains("肤质"), "{e}");
    let p = preview(
        RecordKind::Customer,
        &table(csv, "c.csv"),
        &opts(),
        PREVIEW_ROWS,
    )
    .unwrap();
    assert_eq!(p.missing_required, ["custom.skin"]);
    assert_eq!(p.file_errors.len(), 1);
    // The rows are still checked, as the import would check them.
    assert_eq!(p.sample[0].errors[0].field.as_deref(), Some("custom.skin"));
}

#[test]
fn the_preview_maps_the_custom_columns_and_checks_their_values() {
    let p = preview(
        RecordKind::Customer,
        &table(SALON_CSV, "c.csv"),
        &opts(),
        PREVIEW_ROWS,
    )
    .unwrap();
    let cols: Vec<(&str, Option<&str>, ColumnStatus)> = p
        .columns
        .iter()
        .map(|c| (c.header.as_str(), c.field.as_deref(), c.status))
        .collect();
    assert_eq!(
        &cols[3..],
        [
            ("肤质", Some("custom.skin"), ColumnStatus::Mapped),
            ("护理需求", Some("custom.concerns"), ColumnStatus::Mapped),
            ("到店次数", Some("custom.visits"), ColumnStatus::Mapped),
            ("首次到店", Some("custom.first_visit"), ColumnStatus::Mapped),
            ("过敏史", Some("custom.allergy"), ColumnStatus::Mapped),
            ("会员卡号", None, ColumnStatus::Unknown),
        ]
    );
    assert!(p.missing_required.is_empty() && p.file_errors.is_empty());
    assert_eq!(p.sample[0].cells["custom.concerns"], "补水、美白");
    assert_eq!(p.sample[2].errors[0].field.as_deref(), Some("custom.skin"));
    assert_eq!(p.errors_in_sample, 4);
}
