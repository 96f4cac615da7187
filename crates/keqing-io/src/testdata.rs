//! Generated import files with known good and bad rows, for tests here and
//! in the store and server: every bad row has exactly one defect, and the
//! generator says at which line and column the importer must report it.

use crate::export::CsvEncoding;

/// What is wrong with a generated bad row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadKind {
    /// Bytes invalid in the file's encoding.
    BadEncoding,
    /// The row lacks its last field.
    MissingColumn,
    /// Company phone that is no phone number.
    BadPhone,
    /// Contact mobile that is no mobile number.
    BadMobile,
    BadEmail,
    /// A birthday (customers) or order date (orders) that is no date.
    BadDate,
    BadAmount,
    BadQuantity,
    /// An enumeration value not in the list (企业性质 "外星企业").
    UnknownEnum,
    /// The customer's name is empty.
    MissingName,
    /// The order names no customer.
    MissingCustomer,
    /// Same external code (customers) or order number (orders) as an earlier good row.
    Duplicate,
}

impl BadKind {
    pub const CUSTOMER: &'static [BadKind] = &[
        BadKind::BadEncoding,
        BadKind::MissingColumn,
        BadKind::BadPhone,
        BadKind::BadMobile,
        BadKind::BadEmail,
        BadKind::BadDate,
        BadKind::UnknownEnum,
        BadKind::MissingName,
        BadKind::Duplicate,
    ];
    pub const ORDER: &'static [BadKind] = &[
        BadKind::BadEncoding,
        BadKind::MissingColumn,
        BadKind::BadDate,
        BadKind::BadAmount,
        BadKind::BadQuantity,
        BadKind::MissingCustomer,
        BadKind::Duplicate,
    ];
}

/// A bad row of a generated file and the error the importer must give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedError {
    pub line: usize,
    pub kind: BadKind,
    /// The header of the column the error must name.
    pub column: &'static str,
    /// For [`BadKind::Duplicate`]: the line of the row it repeats.
    pub duplicate_of: Option<usize>,
}

/// A generated file and what importing it must give.
#[derive(Debug, Clone)]
pub struct MessyFile {
    pub bytes: Vec<u8>,
    pub file_name: String,
    /// Rows after the header, blank ones included.
    pub data_rows: usize,
    /// Lines of the rows that must be imported.
    pub good_lines: Vec<usize>,
    /// One entry per bad row, in line order.
    pub bad: Vec<ExpectedError>,
    pub blank_rows: usize,
}

/// A small deterministic generator (SplitMix64): the same seed gives the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

#[derive(Clone, Copy)]
enum Plan {
    Good,
    Bad(BadKind),
}

/// Row kinds in a shuffled order; a good row first, so a duplicate has
/// something to repeat (without good rows there are no duplicates).
fn plan(n_good: usize, n_bad: usize, kinds: &[BadKind], rng: &mut Rng) -> Vec<Plan> {
    let kinds: Vec<BadKind> = kinds
        .iter()
        .copied()
        .filter(|k| n_good > 0 || *k != BadKind::Duplicate)
        .collect();
    let mut p: Vec<Plan> = (0..n_good).map(|_| Plan::Good).collect();
    p.extend((0..n_bad).map(|i| Plan::Bad(kinds[i % kinds.len()])));
    for i in (1..p.len()).rev() {
        let j = rng.below(i + 1);
        p.swap(i, j);
    }
    if let Some(g) = p.iter().position(|x| matches!(x, Plan::Good)) {
        p.swap(0, g);
    }
    p
}

/// Writes rows of byte fields as CSV, counting physical lines.
struct Writer {
    out: Vec<u8>,
    encoding: CsvEncoding,
    line: usize,
}

impl Writer {
    fn new(encoding: CsvEncoding) -> Self {
        let out = if encoding == CsvEncoding::Utf8Bom {
            b"\xEF\xBB\xBF".to_vec()
        } else {
            Vec::new()
        };
        Writer {
            out,
            encoding,
            line: 1,
        }
    }

    fn text(&self, s: &str) -> Vec<u8> {
        match self.encoding {
            CsvEncoding::Utf8Bom | CsvEncoding::Utf8 => s.as_bytes().to_vec(),
            CsvEncoding::Gbk => encoding_rs::GBK.encode(s).0.into_owned(),
            CsvEncoding::Gb18030 => encoding_rs::GB18030.encode(s).0.into_owned(),
        }
    }

    /// Writes one record and returns the line it starts on.
    fn row(&mut self, fields: &[Vec<u8>]) -> usize {
        let start = self.line;
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            if f.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
                self.out.push(b'"');
                for &b in f {
                    if b == b'"' {
                        self.out.push(b'"');
                    }
                    self.out.push(b);
                }
                self.out.push(b'"');
            } else {
                self.out.extend_from_slice(f);
            }
            self.line += f.iter().filter(|b| **b == b'\n').count();
        }
        self.out.push(b'\n');
        self.line += 1;
        start
    }

    fn blank(&mut self, with_commas: usize) {
        self.out.extend(std::iter::repeat_n(b',', with_commas));
        self.out.push(b'\n');
        self.line += 1;
    }
}

const CITIES: &[(&str, &str)] = &[
    ("江苏省", "南京市"),
    ("浙江省", "杭州市"),
    ("广东省", "深圳市"),
    ("四川省", "成都市"),
    ("湖北省", "武汉市"),
    ("山东省", "济南市"),
];
const WORDS: &[&str] = &[
    "恒远钢业",
    "华信电子",
    "德润食品",
    "金桥物流",
    "瑞丰农业",
    "天成建材",
    "鑫源化工",
    "博雅文化",
];
const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄"];
const GIVEN: &[&str] = &["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "军", "杰"];

/// The header of [`messy_customers_csv`].
pub const MESSY_CUSTOMER_HEADER: &[&str] = &[
    "客户名称",
    "客户类型",
    "企业性质",
    "行业",
    "省份",
    "城市",
    "详细地址",
    "单位电话",
    "电子邮箱",
    "统一社会信用代码",
    "客户来源",
    "生命周期",
    "标签",
    "重点客户",
    "联系人",
    "联系人手机",
    "联系人职务",
    "联系人生日",
    "联系人级别",
];

fn customer_fields(i: usize, rng: &mut Rng) -> Vec<String> {
    let (province, city) = CITIES[i % CITIES.len()];
    let word = WORDS[rng.below(WORDS.len())];
    let mut address = format!("{city}中山路{}号", 1 + i % 300);
    if i.is_multiple_of(7) {
        address.push_str(",A座");
    }
    if i.is_multiple_of(37) {
        // A quoted field across two lines: the row is reported at its first line.
        address.push_str("\n三楼");
    }
    vec![
        format!("{}{}{}有限公司", &city[..city.len() - 3], word, i),
        if i % 10 == 9 { "个人" } else { "公司" }.into(),
        rng.pick(&["民营", "国有", "外资", "事业单位", "其他", ""])
            .into(),
        rng.pick(&["钢铁", "电子", "食品", "物流", "农业", ""])
            .into(),
        province.into(),
        city.into(),
        address,
        format!("025-{}", 80_000_000 + i),
        format!("contact{i}@example.cn"),
        format!("91320100MA{:08}", i),
        rng.pick(&["亲友介绍", "广告", "媒体", "上门", ""]).into(),
        rng.pick(&["潜在客户", "销售机会", "订单客户", "用户", "待识别"])
            .into(),
        rng.pick(&["钢材,重点", "电子", "", "批发、零售"]).into(),
        rng.pick(&["是", "否", ""]).into(),
        format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN)),
        format!("139{:08}", i),
        rng.pick(&["采购经理", "总经理", "财务", ""]).into(),
        format!("19{}-{:02}-{:02}", 60 + i % 40, 1 + i % 12, 1 + i % 28),
        rng.pick(&["执行人员", "负责人", "决策者", ""]).into(),
    ]
}

/// A customers CSV (UTF-8 with BOM, Chinese headers) with `n_good` good rows,
/// `n_bad` bad rows of every [`BadKind::CUSTOMER`] kind, and a blank row
/// now and then, shuffled by `seed`.
pub fn messy_customers_csv(n_good: usize, n_bad: usize, seed: u64) -> MessyFile {
    messy_customers_csv_in(n_good, n_bad, seed, CsvEncoding::Utf8Bom)
}

/// [`messy_customers_csv`] in another encoding (GBK: what Excel on a Chinese
/// Windows writes).
pub fn messy_customers_csv_in(
    n_good: usize,
    n_bad: usize,
    seed: u64,
    encoding: CsvEncoding,
) -> MessyFile {
    let mut rng = Rng(seed);
    let mut w = Writer::new(encoding);
    let header: Vec<Vec<u8>> = MESSY_CUSTOMER_HEADER.iter().map(|h| w.text(h)).collect();
    w.row(&header);
    let col = |name: &str| {
        MESSY_CUSTOMER_HEADER
            .iter()
            .position(|h| *h == name)
            .unwrap_or(0)
    };
    let mut good: Vec<(usize, Vec<String>)> = Vec::new();
    let mut file = MessyFile {
        bytes: Vec::new(),
        file_name: "messy_customers.csv".into(),
        data_rows: 0,
        good_lines: Vec::new(),
        bad: Vec::new(),
        blank_rows: 0,
    };
    for (i, p) in plan(n_good, n_bad, BadKind::CUSTOMER, &mut rng)
        .into_iter()
        .enumerate()
    {
        if i % 97 == 50 {
            w.blank(if i % 2 == 0 {
                0
            } else {
                MESSY_CUSTOMER_HEADER.len() - 1
            });
            file.blank_rows += 1;
        }
        let mut f = customer_fields(i, &mut rng);
        let kind = match p {
            Plan::Good => {
                let enc: Vec<Vec<u8>> = f.iter().map(|s| w.text(s)).collect();
                let line = w.row(&enc);
                file.good_lines.push(line);
                good.push((line, f));
                continue;
            }
            Plan::Bad(k) => k,
        };
        let mut dup = None;
        let column = match kind {
            BadKind::BadPhone => {
                f[col("单位电话")] = "12345".into();
                "单位电话"
            }
            BadKind::BadMobile => {
                f[col("联系人手机")] = format!("138{}", i % 1000);
                "联系人手机"
            }
            BadKind::BadEmail => {
                f[col("电子邮箱")] = format!("contact{i}.example.cn");
                "电子邮箱"
            }
            BadKind::BadDate => {
                f[col("联系人生日")] = "1980-13-45".into();
                "联系人生日"
            }
            BadKind::UnknownEnum => {
                f[col("企业性质")] = "外星企业".into();
                "企业性质"
            }
            BadKind::MissingName => {
                f[col("客户名称")] = String::new();
                "客户名称"
            }
            BadKind::Duplicate => {
                let (line, fields) = &good[rng.below(good.len())];
                dup = Some(*line);
                f = fields.clone();
                "统一社会信用代码"
            }
            BadKind::MissingColumn => {
                f.pop();
                MESSY_CUSTOMER_HEADER[MESSY_CUSTOMER_HEADER.len() - 1]
            }
            _ => "详细地址",
        };
        let mut enc: Vec<Vec<u8>> = f.iter().map(|s| w.text(s)).collect();
        if kind == BadKind::BadEncoding {
            // 0xFF is invalid in UTF-8 and in GBK/GB18030 alike.
            enc[col("详细地址")].extend_from_slice(b"\xFF\xFE");
        }
        let line = w.row(&enc);
        file.bad.push(ExpectedError {
            line,
            kind,
            column,
            duplicate_of: dup,
        });
    }
    file.data_rows = file.good_lines.len() + file.bad.len() + file.blank_rows;
    file.bytes = w.out;
    file
}

/// The header of [`messy_orders_csv`].
pub const MESSY_ORDER_HEADER: &[&str] = &[
    "客户编号",
    "订单号",
    "下单时间",
    "实付金额",
    "数量",
    "商品",
    "渠道",
    "门店",
];

/// An orders CSV (UTF-8 with BOM) with good rows in the date and amount forms
/// users type, bad rows of every [`BadKind::ORDER`] kind, and blank rows.
/// Customer codes are those of [`messy_customers_csv`] (`91320100MA` + 8 digits).
pub fn messy_orders_csv(n_good: usize, n_bad: usize, seed: u64) -> MessyFile {
    let mut rng = Rng(seed);
    let mut w = Writer::new(CsvEncoding::Utf8Bom);
    let header: Vec<Vec<u8>> = MESSY_ORDER_HEADER.iter().map(|h| w.text(h)).collect();
    w.row(&header);
    let mut good: Vec<(usize, Vec<String>)> = Vec::new();
    let mut file = MessyFile {
        bytes: Vec::new(),
        file_name: "messy_orders.csv".into(),
        data_rows: 0,
        good_lines: Vec::new(),
        bad: Vec::new(),
        blank_rows: 0,
    };
    for (i, p) in plan(n_good, n_bad, BadKind::ORDER, &mut rng)
        .into_iter()
        .enumerate()
    {
        if i % 97 == 50 {
            w.blank(0);
            file.blank_rows += 1;
        }
        let day = 1 + i % 28;
        let month = 1 + (i / 28) % 12;
        let date = match i % 4 {
            0 => format!("2025-{month:02}-{day:02}"),
            1 => format!("2025{month:02}{day:02}"),
            2 => format!("2025/{month}/{day} 14:30"),
            _ => format!("2025-{month:02}-{day:02} 09:05:00"),
        };
        let yuan = 10 + rng.below(5000);
        let amount = match i % 3 {
            0 => format!("¥{},{:03}.50", 1 + yuan / 1000, yuan % 1000),
            1 => format!("{yuan}"),
            _ => format!("{yuan}.5"),
        };
        let mut f: Vec<String> = vec![
            format!("91320100MA{:08}", rng.below(n_good.max(1))),
            format!("DD{:08}", i),
            date,
            amount,
            (1 + i % 5).to_string(),
            rng.pick(&["钢材", "电子元件", "大米", "花生油", ""]).into(),
            rng.pick(&["门店", "线上", "批发", ""]).into(),
            rng.pick(&["鼓楼店", "西湖店", "", "南山店"]).into(),
        ];
        let kind = match p {
            Plan::Good => {
                let enc: Vec<Vec<u8>> = f.iter().map(|s| w.text(s)).collect();
                let line = w.row(&enc);
                file.good_lines.push(line);
                good.push((line, f));
                continue;
            }
            Plan::Bad(k) => k,
        };
        let mut dup = None;
        let column = match kind {
            BadKind::BadDate => {
                f[2] = "2025-02-30".into();
                "下单时间"
            }
            BadKind::BadAmount => {
                f[3] = if i % 2 == 0 { "12.345" } else { "一百元" }.into();
                "实付金额"
            }
            BadKind::BadQuantity => {
                f[4] = "两件".into();
                "数量"
            }
            BadKind::MissingCustomer => {
                f[0] = String::new();
                "客户编号"
            }
            BadKind::Duplicate => {
                let (line, fields) = &good[rng.below(good.len())];
                dup = Some(*line);
                f[1] = fields[1].clone();
                "订单号"
            }
            BadKind::MissingColumn => {
                f.pop();
                "门店"
            }
            _ => "商品",
        };
        let mut enc: Vec<Vec<u8>> = f.iter().map(|s| w.text(s)).collect();
        if kind == BadKind::BadEncoding {
            enc[5].extend_from_slice(b"\xFF");
        }
        let line = w.row(&enc);
        file.bad.push(ExpectedError {
            line,
            kind,
            column,
            duplicate_of: dup,
        });
    }
    file.data_rows = file.good_lines.len() + file.bad.len() + file.blank_rows;
    file.bytes = w.out;
    file
}

/// XLSX files built part by part, to test what the reader refuses: the
/// bombs of issue 23 (a declared dimension of a million rows by 16,384
/// columns, one huge shared string, millions of rows), made at the size
/// asked for without holding the big part in memory.
pub mod xlsx {
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
    const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
    const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="客户" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
    const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
    /// What a sheet part starts with, up to its rows.
    pub const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

    /// A part of a file being built: written in pieces, each piece as many times as asked.
    pub type Piece<'a> = (&'a [u8], usize);

    /// An XLSX of one sheet `客户` whose sheet XML and shared strings are
    /// the pieces given, deflated at the fastest level.
    pub fn build(sheet: &[Piece], shared_strings: &[Piece]) -> Vec<u8> {
        build_with(sheet, shared_strings, &[])
    }

    /// [`build`] with more parts, by name (`xl/styles.xml`).
    pub fn build_with(
        sheet: &[Piece],
        shared_strings: &[Piece],
        more: &[(&str, &[Piece])],
    ) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(true);
        let mut part = |name: &str, pieces: &[Piece]| {
            zip.start_file(name, opts).expect("a zip in memory");
            for (bytes, times) in pieces {
                for _ in 0..*times {
                    zip.write_all(bytes).expect("a zip in memory");
                }
            }
        };
        part("[Content_Types].xml", &[(CONTENT_TYPES.as_bytes(), 1)]);
        part("_rels/.rels", &[(ROOT_RELS.as_bytes(), 1)]);
        part("xl/workbook.xml", &[(WORKBOOK.as_bytes(), 1)]);
        part(
            "xl/_rels/workbook.xml.rels",
            &[(WORKBOOK_RELS.as_bytes(), 1)],
        );
        part("xl/worksheets/sheet1.xml", sheet);
        part("xl/sharedStrings.xml", shared_strings);
        for (name, pieces) in more {
            part(name, pieces);
        }
        zip.finish().expect("a zip in memory").into_inner()
    }

    fn no_strings() -> Vec<u8> {
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"></sst>"#.to_vec()
    }

    /// A header row `客户名称,电话`, one customer, and a sheet that declares
    /// `A1:XFD1048576` (17 billion cells) with a cell at XFD1048576: empty
    /// (only styled), or holding `x` when `value`.
    pub fn dimension_bomb(value: bool) -> Vec<u8> {
        let far = if value {
            r#"<c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>"#
        } else {
            r#"<c r="XFD1048576" s="0"/>"#
        };
        let sheet = format!(
            r#"{SHEET_START}<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>客户名称</t></is></c><c r="B1" t="inlineStr"><is><t>电话</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>南京甲公司</t></is></c><c r="B2" t="inlineStr"><is><t>025-86001234</t></is></c></row><row r="1048576">{far}</row></sheetData></worksheet>"#
        );
        build(&[(sheet.as_bytes(), 1)], &[(&no_strings(), 1)])
    }

    /// A header row and one customer whose name is a shared string of
    /// `bytes` bytes (`a` repeated: a file of about a thousandth of that).
    pub fn shared_string_bomb(bytes: usize) -> Vec<u8> {
        let sheet = format!(
            r#"{SHEET_START}<dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>客户名称</t></is></c><c r="B1" t="inlineStr"><is><t>电话</t></is></c></row><row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="inlineStr"><is><t>025-86001234</t></is></c></row></sheetData></worksheet>"#
        );
        let chunk = vec![b'a'; 1 << 16];
        let sst: &[Piece] = &[
            (br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>"#, 1),
            (&chunk, bytes >> 16),
            (&chunk[..bytes & 0xFFFF], 1),
            (b"</t></si></sst>", 1),
        ];
        build(&[(sheet.as_bytes(), 1)], sst)
    }

    /// A header row `客户名称,电话` and `rows` rows of one customer each
    /// (the same one: rows need not differ to be read).
    pub fn many_rows(rows: usize) -> Vec<u8> {
        let head = format!(
            r#"{SHEET_START}<sheetData><row><c t="inlineStr"><is><t>客户名称</t></is></c><c t="inlineStr"><is><t>电话</t></is></c></row>"#
        );
        build(
            &[
                (head.as_bytes(), 1),
                (br#"<row><c t="s"><v>0</v></c><c><v>13800000000</v></c></row>"#, rows),
                (b"</sheetData></worksheet>", 1),
            ],
            &[(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>南京甲公司</t></si></sst>"#.as_bytes(), 1)],
        )
    }
}
