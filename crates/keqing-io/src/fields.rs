//! Which header means which field, for the three kinds of file.
//!
//! Headers are matched after normalising: surrounding spaces, a required-mark
//! `*`, a unit in brackets (`金额（元）`) and ASCII case do not matter, and
//! `Order Date`, `order-date` and `order_date` are the same.
//!
//! A customers file also fills the deployment's custom profile fields (SPEC
//! §1: a salon's 肤质): a column headed with a field's label (`肤质`), its key
//! (`skin`) or `custom.KEY` feeds the field `custom.KEY`, after the file's own
//! columns are matched (a label that is one of their headers never reaches
//! the custom field: [`check_custom_headers`] refuses such a definition).

use crate::error::{IoError, Warning};
use keqing_domain::custom_field::CustomFieldDef;
use keqing_domain::{FieldError, ValidationError};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// The field a column feeds: one of the kind's own by its name (`name`,
/// `contact_mobile`), or in a customers file a custom profile field as
/// `custom.KEY` (`custom.skin`), the name the API's errors give it.
pub type FieldName = Cow<'static, str>;

/// What a custom profile field's name starts with (`custom.skin`).
pub const CUSTOM_PREFIX: &str = "custom.";

/// The prefix of a customers file's relationship-card columns (`card_interests`…).
pub const CARD_PREFIX: &str = "card_";

/// The field name of a custom profile field: `custom.KEY`.
pub fn custom_field_name(key: &str) -> FieldName {
    Cow::Owned(format!("{CUSTOM_PREFIX}{key}"))
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// 客户: one customer a row, optionally with its primary contact.
    Customer,
    /// 联系人: one contact a row, with the customer it belongs to.
    Contact,
    /// 订单: one order a row.
    Order,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Customer => "customer",
            RecordKind::Contact => "contact",
            RecordKind::Order => "order",
        }
    }

    /// Every field of this kind with the headers it is recognised by; the first
    /// header is the Chinese one exports write.
    pub fn columns(self) -> &'static [Column] {
        match self {
            RecordKind::Customer => CUSTOMER_COLUMNS,
            RecordKind::Contact => CONTACT_COLUMNS,
            RecordKind::Order => ORDER_COLUMNS,
        }
    }

    pub fn column(self, field: &str) -> Option<&'static Column> {
        self.columns().iter().find(|c| c.field == field)
    }

    /// The names a workbook's sheet of this kind goes by (an export names
    /// its sheets so): a spreadsheet read for this kind takes that sheet.
    pub fn sheet_names(self) -> [&'static str; 2] {
        match self {
            RecordKind::Customer => ["客户", "customers"],
            RecordKind::Contact => ["联系人", "contacts"],
            RecordKind::Order => ["订单", "orders"],
        }
    }
}

/// A field of an import file and the headers that name it.
#[derive(Debug)]
pub struct Column {
    pub field: &'static str,
    /// Chinese header used on export.
    pub zh: &'static str,
    /// Other accepted headers (matched after normalising).
    pub aliases: &'static [&'static str],
}

impl Column {
    fn matches(&self, normalised: &str) -> bool {
        normalise_header(self.field) == normalised
            || normalise_header(self.zh) == normalised
            || self
                .aliases
                .iter()
                .any(|a| normalise_header(a) == normalised)
    }
}

macro_rules! columns {
    ($($field:literal, $zh:literal $(, $alias:literal)*;)+) => {
        &[$(Column { field: $field, zh: $zh, aliases: &[$($alias),*] }),+]
    };
}

/// Customer fields (names as `CustomerInput::from_json` takes them), the
/// relationship card's (客情关系卡, `RelationshipCard`), prefixed `card_`, and
/// the primary contact's fields, prefixed `contact_`.
pub const CUSTOMER_COLUMNS: &[Column] = columns![
    "name", "客户名称", "名称", "单位名称", "公司名称", "企业名称", "客户", "customer_name", "company", "company_name";
    "kind", "客户类型", "类型", "type";
    "company_type", "企业性质", "公司性质";
    "industry", "行业", "所属行业";
    "province", "省份", "省";
    "city", "城市", "市";
    "district", "区县", "区", "县区";
    "address", "详细地址", "地址", "通讯地址";
    "phone", "单位电话", "电话", "公司电话", "座机", "telephone", "tel";
    "website", "网站", "网址", "公司网站", "url";
    "email", "电子邮箱", "邮箱", "邮件", "e-mail", "mail";
    "external_code", "统一社会信用代码", "信用代码", "客户编号", "客户编码", "编号", "code", "customer_code", "credit_code";
    "source", "客户来源", "来源";
    "referrer_id", "推荐人ID", "推荐人编号";
    "stage", "生命周期", "阶段", "生命周期阶段", "客户阶段", "lifecycle_stage";
    "business_stage", "业务阶段";
    "class", "客户分类", "分类", "类别";
    "tier", "等级", "客户等级";
    "tags", "标签";
    "key_customer", "重点客户", "是否重点客户";
    "key_dates", "重要日期", "纪念日", "公司纪念日";
    "parent_id", "上级客户ID", "集团客户ID";
    "card_interests", "兴趣爱好", "爱好";
    "card_recent_events", "近期的喜怒哀乐", "近期动态", "近况";
    "card_business_progress", "业务进展";
    "card_taboos", "禁忌与习俗", "禁忌", "习俗";
    "card_gifts_forbidden", "禁止送礼", "不收礼品", "禁收礼品";
    "card_gift_policy", "礼品政策", "送礼政策";
    "card_preferred_contact_time", "方便联系的时间", "联系时间";
    "contact_name", "联系人", "负责人", "联系人姓名", "姓名", "contact";
    "contact_mobile", "联系人手机", "手机", "手机号", "手机号码", "mobile";
    "contact_title", "联系人职务", "职务", "职位", "title";
    "contact_birthday", "联系人生日", "生日", "birthday";
    "contact_level", "联系人级别", "级别";
    "contact_email", "联系人邮箱";
];

pub const CONTACT_COLUMNS: &[Column] = columns![
    "customer_id", "客户ID";
    "customer_code", "客户编号", "客户编码", "统一社会信用代码", "信用代码", "external_code", "code";
    "customer_name", "客户名称", "单位名称", "公司名称", "企业名称", "客户", "customer", "company";
    "name", "姓名", "联系人", "联系人姓名", "contact_name";
    "mobile", "手机", "手机号", "手机号码", "联系人手机";
    "phone", "电话", "座机", "办公电话", "telephone", "tel";
    "email", "邮箱", "电子邮箱", "e-mail", "mail";
    "wechat", "微信", "微信号", "weixin";
    "qq", "QQ", "QQ号";
    "title", "职务", "职位";
    "level", "级别", "联系人级别";
    "buying_role", "采购角色", "角色";
    "style", "沟通风格", "风格";
    "birthday", "生日";
    "hobbies", "爱好", "兴趣爱好";
    "notes", "备注", "note", "remark", "remarks";
    "consent_phone", "允许电话联系", "允许电话", "电话许可";
    "consent_sms", "允许短信", "短信许可";
    "consent_email", "允许邮件", "允许发邮件", "邮件许可";
    "consent_wechat", "允许微信联系", "允许微信", "微信许可";
];

/// The channels of a contact's consent (`Consent`), each a column
/// `consent_CHANNEL` of a contacts file holding 是 or 否.
pub const CONSENT_CHANNELS: [&str; 4] = ["phone", "sms", "email", "wechat"];

/// The prefix of a contacts file's consent columns (`consent_phone`…).
pub const CONSENT_PREFIX: &str = "consent_";

pub const ORDER_COLUMNS: &[Column] = columns![
    "customer_id", "客户ID";
    "customer_code", "客户编号", "客户编码", "统一社会信用代码", "信用代码", "external_code", "code";
    "customer_name", "客户名称", "单位名称", "公司名称", "企业名称", "客户", "customer", "company";
    "external_id", "订单号", "订单编号", "单号", "order_no", "order_id", "order_number";
    "order_date", "日期", "下单时间", "下单日期", "订单日期", "交易日期", "交易时间", "date", "ordered_at";
    "amount", "金额", "实付金额", "订单金额", "交易金额", "total";
    "quantity", "数量", "qty";
    "product", "商品", "商品名称", "产品", "产品名称";
    "channel", "渠道", "销售渠道";
    "store", "门店", "店铺", "shop";
    "due_date", "应付日期", "应收日期", "到期日", "账期";
    "paid_date", "付款日期", "回款日期", "支付日期";
];

/// The column a file of rejected rows carries (see
/// [`crate::export::write_rejected_rows`]); import ignores it.
pub const ERROR_COLUMN: &str = "错误原因";

/// A header as compared: trimmed, without `*` marks or a bracketed unit,
/// ASCII lower case, spaces and dashes as `_`.
pub fn normalise_header(h: &str) -> String {
    let h = h.trim().trim_start_matches('\u{feff}');
    let h = h.trim_matches(|c| c == '*' || c == '＊').trim();
    let cut = h
        .find(['(', '（', '['])
        .filter(|i| *i > 0)
        .map(|i| &h[..i])
        .unwrap_or(h);
    cut.trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' | '\u{3000}' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The field a (normalised) header names in a file of `kind`: one of the
/// kind's own columns first, then for customers a custom field by its label,
/// then by its key or `custom.KEY`.
fn recognise(kind: RecordKind, custom: &[CustomFieldDef], normalised: &str) -> Option<FieldName> {
    if let Some(c) = kind.columns().iter().find(|c| c.matches(normalised)) {
        return Some(Cow::Borrowed(c.field));
    }
    if kind != RecordKind::Customer {
        return None;
    }
    custom
        .iter()
        .find(|d| normalise_header(&d.label) == normalised)
        .or_else(|| {
            custom.iter().find(|d| {
                normalise_header(&d.key) == normalised
                    || normalised.strip_prefix(CUSTOM_PREFIX) == Some(d.key.as_str())
            })
        })
        .map(|d| custom_field_name(&d.key))
}

/// Fields whose text may run over several lines (a quoted CSV field with
/// line breaks, an Alt+Enter in a spreadsheet cell): addresses, notes and the
/// relationship card's free text, custom fields. Every other field is one
/// line: a line break in a customer's name means a quote that was not closed.
pub fn may_span_lines(field: &str) -> bool {
    field.starts_with(CUSTOM_PREFIX)
        || matches!(
            field,
            "address"
                | "tags"
                | "key_dates"
                | "card_interests"
                | "card_recent_events"
                | "card_business_progress"
                | "card_taboos"
                | "card_gift_policy"
                | "card_preferred_contact_time"
                | "notes"
                | "hobbies"
                | "style"
                | "product"
        )
}

/// The header a file of customers names a custom field with so that the
/// import reads it back into that field: `preferred` (its label, or its key)
/// unless that means something else in a customers file, `custom.KEY` then.
pub fn custom_header(custom: &[CustomFieldDef], def: &CustomFieldDef, preferred: &str) -> String {
    let name = custom_field_name(&def.key);
    match recognise(RecordKind::Customer, custom, &normalise_header(preferred)) {
        Some(f) if f == name => preferred.to_string(),
        _ => name.into_owned(),
    }
}

/// Refuses custom field definitions a customers file could not fill by their
/// label or key: a label or key that is already the header of one of the
/// file's own columns (`生日` is the contact's birthday, `等级` the tier), or
/// the [`ERROR_COLUMN`], or the label or key of another custom field. Errors
/// are named `fields[i].label` / `fields[i].key`, as
/// `keqing_domain::custom_field::check_definitions` names them.
pub fn check_custom_headers(custom: &[CustomFieldDef]) -> Result<(), ValidationError> {
    let mut errors = vec![];
    for (i, d) in custom.iter().enumerate() {
        for (what, text) in [("label", d.label.as_str()), ("key", d.key.as_str())] {
            let n = normalise_header(text);
            let taken = if n == ERROR_COLUMN {
                Some(format!(
                    "{ERROR_COLUMN} (the reasons column of a file of rejected rows)"
                ))
            } else if let Some(c) = CUSTOMER_COLUMNS.iter().find(|c| c.matches(&n)) {
                Some(format!("{} ({})", c.zh, c.field))
            } else {
                custom
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .find(|(_, o)| normalise_header(&o.label) == n || normalise_header(&o.key) == n)
                    .map(|(_, o)| format!("the custom field {} ({})", o.label, o.key))
            };
            if let Some(taken) = taken {
                errors.push(FieldError {
                    field: format!("fields[{i}].{what}"),
                    message: format!(
                        "导入时{text:?}已表示{taken} a column headed {text:?} in a customers file already means {taken}: choose another {what}"
                    ),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationError { errors })
    }
}

/// How the columns of one file map to fields.
#[derive(Debug, Clone)]
pub struct HeaderMap {
    /// For each column of the file (0-based), the field it feeds, if any.
    pub fields: Vec<Option<FieldName>>,
    /// Columns left out, each reported once.
    pub warnings: Vec<Warning>,
}

impl HeaderMap {
    /// The 0-based column of a field.
    pub fn position(&self, field: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.as_deref() == Some(field))
    }

    pub fn has(&self, field: &str) -> bool {
        self.position(field).is_some()
    }
}

/// What became of one column of a file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ColumnStatus {
    /// The column feeds a field.
    Mapped,
    /// No field is known by this header (or it has none): its data is not imported.
    Unknown,
    /// An earlier column already means the same field.
    Duplicate,
    /// Left out on purpose: an explicit mapping to `""` / `"-"`, or the
    /// [`ERROR_COLUMN`] of a file of rejected rows.
    Ignored,
}

/// One column of a file's header and the field it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnMapping {
    /// 1-based column, counted from the sheet's column A.
    pub index: usize,
    /// The header as written.
    pub header: String,
    /// The field the header means (for a duplicate: the field it would feed).
    pub field: Option<FieldName>,
    pub status: ColumnStatus,
}

/// The fields of `kind` an explicit mapping may name: its own, and for
/// customers `custom.KEY` of each custom field.
fn field_names(kind: RecordKind, custom: &[CustomFieldDef]) -> Vec<FieldName> {
    let own = kind.columns().iter().map(|c| Cow::Borrowed(c.field));
    match kind {
        RecordKind::Customer => own
            .chain(custom.iter().map(|d| custom_field_name(&d.key)))
            .collect(),
        _ => own.collect(),
    }
}

/// How each column of a file's header maps to the fields of `kind` (for
/// customers, also to the `custom` fields), without refusing anything but
/// an explicit mapping to a field `kind` lacks: a second column meaning a
/// field already mapped is [`ColumnStatus::Duplicate`]. [`map_headers`]
/// turns that into an error; a preview shows it.
pub fn classify_headers(
    kind: RecordKind,
    headers: &[String],
    explicit: &BTreeMap<String, String>,
    custom: &[CustomFieldDef],
    column_offset: usize,
) -> Result<Vec<ColumnMapping>, IoError> {
    let mut out = Vec::with_capacity(headers.len());
    let mut seen: BTreeSet<FieldName> = BTreeSet::new();
    let explicit_norm: BTreeMap<String, &String> = explicit
        .iter()
        .map(|(k, v)| (normalise_header(k), v))
        .collect();
    for (i, h) in headers.iter().enumerate() {
        let n = normalise_header(h);
        let (field, status) = match explicit.get(h).or_else(|| explicit_norm.get(&n).copied()) {
            Some(f) if f.is_empty() || f == "-" => (None, ColumnStatus::Ignored),
            Some(f) => {
                let names = field_names(kind, custom);
                match names.iter().find(|c| *c == f) {
                    Some(c) => (Some(c.clone()), ColumnStatus::Mapped),
                    None => {
                        return Err(IoError::UnknownField {
                            kind: kind.as_str(),
                            column: h.clone(),
                            field: f.clone(),
                            expected: names.into_iter().map(Cow::into_owned).collect(),
                        })
                    }
                }
            }
            None if n == ERROR_COLUMN => (None, ColumnStatus::Ignored),
            None if n.is_empty() => (None, ColumnStatus::Unknown),
            None => match recognise(kind, custom, &n) {
                Some(f) => (Some(f), ColumnStatus::Mapped),
                None => (None, ColumnStatus::Unknown),
            },
        };
        let status = match &field {
            Some(f) if !seen.insert(f.clone()) => ColumnStatus::Duplicate,
            _ => status,
        };
        out.push(ColumnMapping {
            index: column_offset + i + 1,
            header: h.clone(),
            field,
            status,
        });
    }
    Ok(out)
}

/// Maps a file's headers to the fields of `kind`. `explicit` maps a header as
/// written to a field name and wins over recognition; a field name of `""`
/// or `"-"` leaves the column out on purpose (no warning). Two columns
/// meaning one field are refused: which one to believe is not ours to guess.
pub fn map_headers(
    kind: RecordKind,
    headers: &[String],
    explicit: &BTreeMap<String, String>,
    custom: &[CustomFieldDef],
    column_offset: usize,
) -> Result<HeaderMap, IoError> {
    let columns = classify_headers(kind, headers, explicit, custom, column_offset)?;
    if let Some(second) = columns.iter().find(|c| c.status == ColumnStatus::Duplicate) {
        let field = second.field.clone().unwrap_or_default();
        let first = columns
            .iter()
            .find(|c| c.field.as_ref() == Some(&field))
            .unwrap_or(second);
        return Err(IoError::DuplicateColumn {
            field: field.into_owned(),
            first: first.header.clone(),
            first_index: first.index,
            second: second.header.clone(),
            second_index: second.index,
        });
    }
    Ok(header_map(&columns))
}

/// The [`HeaderMap`] of classified columns: duplicates feed nothing, and each
/// named unknown column is a warning.
pub fn header_map(columns: &[ColumnMapping]) -> HeaderMap {
    let mut warnings = Vec::new();
    let fields = columns
        .iter()
        .map(|c| match c.status {
            ColumnStatus::Mapped => c.field.clone(),
            ColumnStatus::Unknown if !normalise_header(&c.header).is_empty() => {
                warnings.push(Warning {
                    column: Some(c.header.clone()),
                    column_index: Some(c.index),
                    message: format!(
                        "未识别的列，数据未导入 unknown column {:?}: its data is not imported",
                        c.header
                    ),
                });
                None
            }
            _ => None,
        })
        .collect();
    HeaderMap { fields, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(m: &HeaderMap) -> Vec<Option<&str>> {
        m.fields.iter().map(|f| f.as_deref()).collect()
    }

    fn map(kind: RecordKind, headers: &[&str]) -> HeaderMap {
        let h: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        map_headers(kind, &h, &BTreeMap::new(), &[], 0).unwrap()
    }

    #[test]
    fn every_header_means_one_field_per_kind() {
        for kind in [RecordKind::Customer, RecordKind::Contact, RecordKind::Order] {
            let mut all = BTreeMap::new();
            for c in kind.columns() {
                for h in std::iter::once(c.field)
                    .chain(std::iter::once(c.zh))
                    .chain(c.aliases.iter().copied())
                {
                    if let Some(other) = all.insert(normalise_header(h), c.field) {
                        assert_eq!(other, c.field, "{kind:?}: {h} is ambiguous");
                    }
                }
            }
        }
    }

    #[test]
    fn chinese_english_and_decorated_headers() {
        let m = map(
            RecordKind::Order,
            &["*客户编号", "Order Date", "金额（元）", "QQ", "order-no"],
        );
        assert_eq!(
            names(&m),
            vec![
                Some("customer_code"),
                Some("order_date"),
                Some("amount"),
                None,
                Some("external_id")
            ]
        );
        assert_eq!(m.warnings.len(), 1);
        assert_eq!(m.warnings[0].column_index, Some(4));
    }

    #[test]
    fn explicit_mapping_wins_and_duplicates_are_refused() {
        let h: Vec<String> = ["户名", "备注"].iter().map(|s| s.to_string()).collect();
        let mut ex = BTreeMap::new();
        ex.insert("户名".to_string(), "name".to_string());
        ex.insert("备注".to_string(), "-".to_string());
        let m = map_headers(RecordKind::Customer, &h, &ex, &[], 0).unwrap();
        assert_eq!(names(&m), vec![Some("name"), None]);
        assert!(m.warnings.is_empty());
        let h: Vec<String> = ["名称", "客户名称"].iter().map(|s| s.to_string()).collect();
        assert!(matches!(
            map_headers(RecordKind::Customer, &h, &BTreeMap::new(), &[], 0),
            Err(IoError::DuplicateColumn { field, .. }) if field == "name"
        ));
    }

    fn salon() -> Vec<CustomFieldDef> {
        keqing_domain::custom_field::definitions_from_json(&serde_json::json!({"fields": [
            {"key": "skin", "label": "肤质", "type": "choice", "options": ["干性", "油性"]},
            {"key": "visits", "label": "到店次数", "type": "number"}
        ]}))
        .unwrap()
    }

    #[test]
    fn custom_fields_are_named_by_label_key_or_custom_key() {
        let h: Vec<String> = ["客户名称", "肤质", "到店次数（次）", "微信群"]
            .map(String::from)
            .to_vec();
        let m = map_headers(RecordKind::Customer, &h, &BTreeMap::new(), &salon(), 0).unwrap();
        assert_eq!(
            names(&m),
            vec![
                Some("name"),
                Some("custom.skin"),
                Some("custom.visits"),
                None
            ]
        );
        assert_eq!(m.warnings.len(), 1, "only 微信群 is unknown");
        let h: Vec<String> = ["name", "Skin", "custom.visits"].map(String::from).to_vec();
        let m = map_headers(RecordKind::Customer, &h, &BTreeMap::new(), &salon(), 0).unwrap();
        assert_eq!(
            names(&m),
            vec![Some("name"), Some("custom.skin"), Some("custom.visits")]
        );
        // Label and key in one file mean one field twice.
        let h: Vec<String> = ["客户名称", "肤质", "skin"].map(String::from).to_vec();
        assert!(matches!(
            map_headers(RecordKind::Customer, &h, &BTreeMap::new(), &salon(), 0),
            Err(IoError::DuplicateColumn { field, .. }) if field == "custom.skin"
        ));
        // An explicit mapping may name a custom field; other files have none.
        let h: Vec<String> = ["户名", "皮肤"].map(String::from).to_vec();
        let ex = BTreeMap::from([
            ("户名".to_string(), "name".to_string()),
            ("皮肤".to_string(), "custom.skin".to_string()),
        ]);
        let m = map_headers(RecordKind::Customer, &h, &ex, &salon(), 0).unwrap();
        assert_eq!(names(&m), vec![Some("name"), Some("custom.skin")]);
        let e = map_headers(RecordKind::Customer, &h, &ex, &[], 0).unwrap_err();
        assert!(e.to_string().contains("custom.skin"), "{e}");
        let h: Vec<String> = ["姓名", "客户名称", "肤质"].map(String::from).to_vec();
        let m = map_headers(RecordKind::Contact, &h, &BTreeMap::new(), &salon(), 0).unwrap();
        assert_eq!(names(&m), vec![Some("name"), Some("customer_name"), None]);
    }

    #[test]
    fn a_custom_label_the_file_already_means_is_refused_and_exported_by_key() {
        let defs: Vec<CustomFieldDef> =
            keqing_domain::custom_field::definitions_from_json(&serde_json::json!({"fields": [
                {"key": "birthday_solar", "label": "生日", "type": "date"},
                {"key": "tier", "label": "会员卡", "type": "text"},
                {"key": "skin", "label": "肤质", "type": "text"},
                {"key": "note", "label": "skin", "type": "text"}
            ]}))
            .unwrap();
        let e = check_custom_headers(&defs).unwrap_err();
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "fields[0].label",
                "fields[1].key",
                "fields[2].key",
                "fields[3].label"
            ]
        );
        assert!(
            e.errors[0].message.contains("联系人生日"),
            "{}",
            e.errors[0].message
        );
        assert!(check_custom_headers(&salon()).is_ok());
        // Stored before the check: an export names them so they come back.
        assert_eq!(
            custom_header(&defs, &defs[0], "生日"),
            "custom.birthday_solar"
        );
        assert_eq!(custom_header(&defs, &defs[1], "tier"), "custom.tier");
        assert_eq!(custom_header(&defs, &defs[1], "会员卡"), "会员卡");
        assert_eq!(custom_header(&defs, &defs[2], "skin"), "custom.skin");
        assert_eq!(custom_header(&defs, &defs[3], "skin"), "skin");
    }
}
