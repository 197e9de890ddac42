//! The chart (`results.svg`): requests per second per system above, p50 and p99 latency per
//! system below, drawn with plotters' SVG backend (text as SVG `<text>`, no font files).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::Row;

const WIDTH: u32 = 1600;
const HEIGHT: u32 = 780;

/// The colour of a row's bars: fezz rows stand out.
fn colour(row: &Row) -> RGBColor {
    if row.system.is_fezz() {
        RGBColor(214, 93, 14)
    } else if row.system.id.starts_with("peer") {
        RGBColor(69, 133, 136)
    } else {
        RGBColor(104, 157, 106)
    }
}

/// Draws `rows` as an SVG document.
pub fn svg(rows: &[Row], title: &str) -> anyhow::Result<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(draw_error)?;
        let (top, bottom) = root.split_vertically(HEIGHT / 2 - 20);
        let count = rows.len().max(1) as f64;
        let x_range = -0.5..count - 0.5;

        // A log scale: limit B answers a hundred times faster than a process per call.
        let max_rps = rows
            .iter()
            .map(|row| row.summary.requests_per_second)
            .fold(1.0, f64::max);
        let floor = rows
            .iter()
            .map(|row| row.summary.requests_per_second)
            .filter(|rps| *rps > 0.0)
            .fold(max_rps, f64::min)
            / 2.0;
        let mut chart = ChartBuilder::on(&top)
            .margin(10)
            .x_label_area_size(10)
            .y_label_area_size(70)
            .caption(
                "requests (calls) per second, median of the rounds (log scale)",
                ("sans-serif", 16),
            )
            .build_cartesian_2d(x_range.clone(), (floor..max_rps * 2.0).log_scale())
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("req/s")
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(index, row)| {
                let x = index as f64;
                Rectangle::new(
                    [
                        (x - 0.35, floor),
                        (x + 0.35, row.summary.requests_per_second.max(floor)),
                    ],
                    colour(row).filled(),
                )
            }))
            .map_err(draw_error)?;
        let value_style = ("sans-serif", 12)
            .into_text_style(&top)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        chart
            .draw_series(rows.iter().enumerate().map(|(index, row)| {
                Text::new(
                    format!("{:.0}", row.summary.requests_per_second),
                    (
                        index as f64,
                        row.summary.requests_per_second.max(floor) * 1.05,
                    ),
                    value_style.clone(),
                )
            }))
            .map_err(draw_error)?;

        let (plot, labels) = bottom.split_vertically(HEIGHT / 2 - 80);
        let max_ms = rows
            .iter()
            .map(|row| row.summary.p99_ms)
            .fold(0.1, f64::max);
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(10)
            .y_label_area_size(70)
            .caption(
                "latency: p50 (light) and p99 (dark), ms",
                ("sans-serif", 16),
            )
            .build_cartesian_2d(x_range, 0.0..max_ms * 1.15)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("ms")
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(rows.iter().enumerate().flat_map(|(index, row)| {
                let x = index as f64;
                let base = colour(row);
                let light = RGBColor(base.0 / 2 + 127, base.1 / 2 + 127, base.2 / 2 + 127);
                [
                    Rectangle::new([(x - 0.35, 0.0), (x, row.summary.p50_ms)], light.filled()),
                    Rectangle::new([(x, 0.0), (x + 0.35, row.summary.p99_ms)], base.filled()),
                ]
            }))
            .map_err(draw_error)?;

        // The rows' ids under both plots, staggered so long ids fit side by side.
        let label_style = ("sans-serif", 12)
            .into_text_style(&labels)
            .pos(Pos::new(HPos::Center, VPos::Top));
        let plot_left = 80.0;
        let plot_width = f64::from(WIDTH) - plot_left - 10.0;
        for (index, row) in rows.iter().enumerate() {
            let x = plot_left + plot_width * (index as f64 + 0.5) / count;
            labels
                .draw(&Text::new(
                    row.system.id.clone(),
                    (x as i32, 6 + 18 * (index as i32 % 2)),
                    label_style.clone(),
                ))
                .map_err(draw_error)?;
        }
        root.present().map_err(draw_error)?;
    }
    Ok(text)
}

fn draw_error<E: std::fmt::Display>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_an_svg_with_a_bar_and_a_label_per_row() {
        let rows = crate::report::tests::sample_rows();
        let text = svg(&rows, "fezz benchmark").unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..80.min(text.len())]);
        assert!(text.trim_end().ends_with("</svg>"));
        for row in &rows {
            // plotters writes each text on a line of its own.
            let label = format!("\n{}\n</text>", row.system.id);
            assert!(text.contains(&label), "no label {}", row.system.id);
        }
        // One bar per row above, two below, plus the background.
        let bars = text.matches("<rect").count();
        assert!(bars >= 3 * rows.len(), "{bars} rectangles");
        assert!(text.contains("fezz benchmark"));
    }
}
