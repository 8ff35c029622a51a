//! Line/point plots rendered to SVG with plotters.

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::prelude::*;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeriesStyle {
    /// Connected line.
    #[default]
    Line,
    /// Markers only.
    Points,
}

/// One named series of `(x, y)` points.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Line or markers.
    pub style: SeriesStyle,
}

impl Series {
    /// A line series.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            style: SeriesStyle::Line,
        }
    }

    /// A marker series.
    pub fn points(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            style: SeriesStyle::Points,
        }
    }
}

/// A 2-D plot with optional log axes.
#[derive(Debug, Clone, Default)]
pub struct Plot {
    /// File name inside the repro folder (e.g. `"variance.svg"`).
    pub file: String,
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Log-scale x.
    pub log_x: bool,
    /// Log-scale y.
    pub log_y: bool,
    /// The series.
    pub series: Vec<Series>,
}

impl Plot {
    /// A plot with these labels and no series yet.
    pub fn new(file: &str, title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            file: file.into(),
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Self::default()
        }
    }

    /// Sets log scales.
    pub fn log(mut self, x: bool, y: bool) -> Self {
        self.log_x = x;
        self.log_y = y;
        self
    }

    /// Adds a series.
    pub fn with(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    fn range(&self, axis: fn(&(f64, f64)) -> f64, log: bool) -> (f64, f64) {
        let vals = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(axis))
            .filter(|v| v.is_finite() && (!log || *v > 0.0));
        let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        if !lo.is_finite() {
            return if log { (0.1, 10.0) } else { (0.0, 1.0) };
        }
        if log {
            (lo / 1.2, hi * 1.2)
        } else if hi - lo < 1e-12 * (1.0 + lo.abs()) {
            (lo - 0.5, hi + 0.5)
        } else {
            let pad = 0.05 * (hi - lo);
            (lo - pad, hi + pad)
        }
    }

    /// Renders the plot into `path` as SVG.
    pub fn render_svg(&self, path: &Path) -> Result<()> {
        let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| anyhow!("plot {}: {e}", self.file);
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let (x0, x1) = self.range(|p| p.0, self.log_x);
        let (y0, y1) = self.range(|p| p.1, self.log_y);
        macro_rules! draw {
            ($xr:expr, $yr:expr) => {{
                let mut chart = ChartBuilder::on(&root)
                    .caption(&self.title, ("sans-serif", 20))
                    .margin(12)
                    .x_label_area_size(40)
                    .y_label_area_size(70)
                    .build_cartesian_2d($xr, $yr)
                    .map_err(|e| err(&e))?;
                chart
                    .configure_mesh()
                    .x_desc(self.x_label.as_str())
                    .y_desc(self.y_label.as_str())
                    .draw()
                    .map_err(|e| err(&e))?;
                for (i, s) in self.series.iter().enumerate() {
                    let color = Palette99::pick(i).to_rgba();
                    let pts: Vec<(f64, f64)> = s
                        .points
                        .iter()
                        .copied()
                        .filter(|(x, y)| {
                            x.is_finite()
                                && y.is_finite()
                                && (!self.log_x || *x > 0.0)
                                && (!self.log_y || *y > 0.0)
                        })
                        .collect();
                    let anno = match s.style {
                        SeriesStyle::Line => chart
                            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
                            .map_err(|e| err(&e))?,
                        SeriesStyle::Points => chart
                            .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                            .map_err(|e| err(&e))?,
                    };
                    anno.label(s.name.as_str()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| err(&e))?;
            }};
        }
        match (self.log_x, self.log_y) {
            (false, false) => draw!(x0..x1, y0..y1),
            (true, false) => draw!((x0..x1).log_scale(), y0..y1),
            (false, true) => draw!(x0..x1, (y0..y1).log_scale()),
            (true, true) => draw!((x0..x1).log_scale(), (y0..y1).log_scale()),
        }
        root.present().map_err(|e| err(&e))?;
        Ok(())
    }
}
