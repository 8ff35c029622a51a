//! A plain table: headers and string rows, printed aligned and written as CSV or Markdown.

use std::fmt::Write as _;

/// Headers and rows of cells.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Table {
    /// Column names.
    pub headers: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// Formats a number compactly for tables: 4 significant digits, scientific when very small/large.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        format!("{x:.3e}")
    } else {
        let digits = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
    }
}

impl Table {
    /// A table with these headers.
    pub fn new<S: ToString>(headers: &[S]) -> Self {
        Self {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row of cells.
    pub fn row<S: ToString>(&mut self, cells: &[S]) -> &mut Self {
        self.rows
            .push(cells.iter().map(|c| c.to_string()).collect());
        self
    }

    /// Appends a row: a label followed by numbers formatted with [`num`].
    pub fn row_nums(&mut self, label: &str, values: &[f64]) -> &mut Self {
        let mut cells = vec![label.to_string()];
        cells.extend(values.iter().map(|&v| num(v)));
        self.rows.push(cells);
        self
    }

    /// Aligned text for the terminal.
    pub fn to_text(&self) -> String {
        let ncol = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let mut width = vec![0usize; ncol];
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut s = String::new();
        let line = |s: &mut String, row: &[String]| {
            for (i, w) in width.iter().enumerate() {
                let c = row.get(i).map(String::as_str).unwrap_or("");
                let _ = write!(s, "{c:<w$}  ");
            }
            s.truncate(s.trim_end().len());
            s.push('\n');
        };
        line(&mut s, &self.headers);
        let rule: Vec<String> = width.iter().map(|&w| "-".repeat(w)).collect();
        line(&mut s, &rule);
        for row in &self.rows {
            line(&mut s, row);
        }
        s
    }

    /// CSV (RFC 4180 quoting where needed).
    pub fn to_csv(&self) -> String {
        let cell = |c: &str| {
            if c.contains([',', '"', '\n']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c.to_string()
            }
        };
        let mut s = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            s.push_str(&cells.join(","));
            s.push('\n');
        }
        s
    }

    /// GitHub-flavoured Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = format!("| {} |\n", self.headers.join(" | "));
        s.push_str(&format!("|{}\n", "---|".repeat(self.headers.len())));
        for row in &self.rows {
            s.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_quotes() {
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(1234.56), "1235");
        assert_eq!(num(1e-7), "1.000e-7");
        let mut t = Table::new(&["a", "b"]);
        t.row(&["x,y", "2"]);
        assert_eq!(t.to_csv(), "a,b\n\"x,y\",2\n");
        assert!(t.to_text().starts_with("a    b\n---  -\n"));
    }
}
