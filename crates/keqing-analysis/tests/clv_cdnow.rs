//! SPEC §3 CLV fixtures on the CDNOW sample (Fader, Hardie & Lee 2005),
//! shipped as tests/data/cdnow_customers_summary*.csv (from the `lifetimes` package).

use std::path::PathBuf;

use keqing_analysis::clv::{
    clv, fit_bgnbd, fit_gamma_gamma, fit_pareto_nbd, read_summary_csv, BgNbdParams, ClvModel,
    ClvOptions, Period, PurchaseModel,
};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Equal to 4 significant digits.
fn sig4(got: f64, want: f64) -> bool {
    let scale = 10f64.powf(want.abs().log10().floor() - 3.0);
    (got / scale).round() == (want / scale).round()
}

#[test]
fn cdnow_bgnbd_parameters() {
    let d = read_summary_csv(&data("cdnow_customers_summary.csv")).unwrap();
    assert_eq!(d.len(), 2357);
    let f = fit_bgnbd(&d).unwrap();
    let p = f.params;
    for (got, want) in [
        (p.r, 0.2426),
        (p.alpha, 4.4135),
        (p.a, 0.7929),
        (p.b, 2.4258),
    ] {
        assert!(sig4(got, want), "BG/NBD {p:?}");
    }
    // lifetimes reports the mean negative log-likelihood 3.6 … ; the total is −9582.43.
    assert!(
        (f.log_likelihood + 9582.43).abs() < 0.01,
        "{}",
        f.log_likelihood
    );
}

#[test]
fn cdnow_customer_1_expects_1_2259_purchases_in_39_weeks() {
    let p = BgNbdParams {
        r: 0.2426,
        alpha: 4.4135,
        a: 0.7929,
        b: 2.4258,
    };
    let e = p.expected_purchases(39.0, 2.0, 30.43, 38.86);
    assert!(sig4(e, 1.2259), "{e}");
    // And from the fitted parameters.
    let d = read_summary_csv(&data("cdnow_customers_summary.csv")).unwrap();
    let f = fit_bgnbd(&d).unwrap().params;
    assert!(sig4(f.expected_purchases(39.0, 2.0, 30.43, 38.86), 1.2259));
    let alive = f.p_alive(2.0, 30.43, 38.86);
    assert!(alive > 0.0 && alive < 1.0);
    assert_eq!(f.p_alive(0.0, 0.0, 38.86), 1.0);
}

#[test]
fn cdnow_pareto_nbd_parameters() {
    let d = read_summary_csv(&data("cdnow_customers_summary.csv")).unwrap();
    let p = fit_pareto_nbd(&d).unwrap().params;
    for (got, want) in [
        (p.r, 0.5533),
        (p.alpha, 10.5777),
        (p.s, 0.6062),
        (p.beta, 11.6661),
    ] {
        assert!(sig4(got, want), "Pareto/NBD {p:?}");
    }
}

#[test]
fn cdnow_gamma_gamma_parameters_on_repeat_buyers() {
    let d = read_summary_csv(&data("cdnow_customers_summary_with_transactions.csv")).unwrap();
    assert!(d.monetary.is_some());
    let p = fit_gamma_gamma(&d).unwrap().params;
    for (got, want) in [(p.p, 6.2488), (p.q, 3.7446), (p.v, 15.4477)] {
        assert!(sig4(got, want), "Gamma-Gamma {p:?}");
    }
    // Conditional expected spend lies between the customer's mean and the population mean.
    let pop = p.expected_spend(0.0, 0.0);
    let e = p.expected_spend(2.0, 22.35);
    assert!(e > pop.min(22.35) && e < pop.max(22.35));
}

#[test]
fn clv_discounts_and_orders_customers() {
    let d = read_summary_csv(&data("cdnow_customers_summary_with_transactions.csv")).unwrap();
    let opts = ClvOptions {
        model: ClvModel::BgNbd,
        period: Period::W,
        horizon_months: 12,
        monthly_discount: 0.01,
        per_customer: true,
    };
    let r = clv(&d, &opts).unwrap();
    assert_eq!(r.customers.len(), 2357);
    // The totals are those of the rows, and a summary-only run has the same.
    let sum: f64 = r.customers.iter().filter_map(|c| c.clv).sum();
    assert_eq!(r.total_clv, Some(sum));
    assert_eq!(r.total_customers, 2357);
    let summary = clv(
        &d,
        &ClvOptions {
            per_customer: false,
            ..opts
        },
    )
    .unwrap();
    assert!(summary.customers.is_empty());
    assert_eq!(summary.total_clv, Some(sum));
    assert_eq!(summary.params, r.params);
    assert_eq!(
        summary.total_p_alive,
        r.customers.iter().map(|c| c.p_alive).sum::<f64>()
    );
    assert!(r.spend.is_some());
    let c1 = &r.customers[0];
    assert_eq!(c1.customer_id, "1");
    let clv1 = c1.clv.unwrap();
    let undiscounted = c1.expected_purchases * c1.expected_spend.unwrap();
    assert!(
        clv1 > 0.0 && clv1 < undiscounted,
        "{clv1} vs {undiscounted}"
    );
    let no_discount = clv(
        &d,
        &ClvOptions {
            monthly_discount: 0.0,
            ..opts
        },
    )
    .unwrap();
    assert!((no_discount.customers[0].clv.unwrap() - undiscounted).abs() < 1e-6 * undiscounted);
}
