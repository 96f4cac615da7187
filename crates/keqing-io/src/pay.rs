//! A pay run as an XLSX workbook for payroll (issue 26): Chinese headers,
//! amounts as numbers in yuan with two decimals, the formula as text, and a
//! totals row.

use crate::error::IoError;
use keqing_domain::Money;
use rust_xlsxwriter::{Format, Workbook};

/// One line of the sheet.
#[derive(Debug, Clone)]
pub struct PayRow {
    pub user_id: i64,
    pub name: String,
    pub team: String,
    pub base: Money,
    pub hard: Money,
    pub soft: Money,
    pub total: Money,
    /// "调整" for an adjustment line, empty otherwise.
    pub kind: String,
    /// The formula with its figures, or an adjustment's reason.
    pub formula: String,
}

const HEADERS: [&str; 9] = [
    "工号",
    "姓名",
    "团队",
    "底薪A",
    "硬性考核B",
    "软性考核C",
    "应发合计P",
    "类型",
    "计算公式",
];

fn yuan(m: Money) -> f64 {
    // Exact for every amount below 2^53 fen; the cell shows two decimals.
    m.fen() as f64 / 100.0
}

/// The run's sheet (工资 YYYY-MM), its status in the title row.
pub fn write_pay_run_xlsx(title: &str, rows: &[PayRow]) -> Result<Vec<u8>, IoError> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("工资")?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    let money_bold = Format::new().set_num_format("0.00").set_bold();
    ws.write_string_with_format(0, 0, title, &bold)?;
    for (j, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(1, j as u16, *h, &bold)?;
        ws.set_column_width(j as u16, if j == 8 { 60 } else { 14 })?;
    }
    let mut sums = [0i64; 4];
    for (i, r) in rows.iter().enumerate() {
        let row = (i + 2) as u32;
        ws.write_number(row, 0, r.user_id as f64)?;
        ws.write_string(row, 1, &r.name)?;
        ws.write_string(row, 2, &r.team)?;
        for (j, m) in [r.base, r.hard, r.soft, r.total].into_iter().enumerate() {
            ws.write_number_with_format(row, 3 + j as u16, yuan(m), &money)?;
            sums[j] += m.fen();
        }
        ws.write_string(row, 7, &r.kind)?;
        // Text, never a spreadsheet formula: it starts with "P =" or a reason.
        ws.write_string(row, 8, &r.formula)?;
    }
    let last = (rows.len() + 2) as u32;
    ws.write_string_with_format(last, 1, "合计", &bold)?;
    for (j, s) in sums.into_iter().enumerate() {
        ws.write_number_with_format(last, 3 + j as u16, yuan(Money(s)), &money_bold)?;
    }
    ws.set_freeze_panes(2, 0)?;
    Ok(book.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reads_back_with_its_totals() {
        use calamine::{Data, Reader, Xlsx};
        let row = |id, total| PayRow {
            user_id: id,
            name: "王芳".into(),
            team: "一部".into(),
            base: Money::from_yuan(5000),
            hard: Money::from_yuan(18_750),
            soft: Money::from_yuan(800),
            total: Money::from_yuan(total),
            kind: String::new(),
            formula: "P = A + B + C = 5000.00 + 18750.00 + 800.00 = 24550.00".into(),
        };
        let bytes =
            write_pay_run_xlsx("工资 2026-11 已锁定", &[row(1, 24_550), row(2, 24_550)]).unwrap();
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range("工资").unwrap();
        assert_eq!(
            sheet.get_value((1, 6)),
            Some(&Data::String("应发合计P".into()))
        );
        assert_eq!(sheet.get_value((2, 6)), Some(&Data::Float(24_550.0)));
        assert_eq!(sheet.get_value((4, 1)), Some(&Data::String("合计".into())));
        assert_eq!(sheet.get_value((4, 6)), Some(&Data::Float(49_100.0)));
        assert!(matches!(sheet.get_value((2, 8)), Some(Data::String(s)) if s.starts_with("P = A")));
    }
}
