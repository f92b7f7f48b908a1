//! Finds where a JSON pointer lands in a JSON text, as a 1-based line and column, so that an
//! error found on the parsed value can name the place in the file. Only used on error paths:
//! it parses the text again with positions.

use jsonc_parser::ast::Value;
use jsonc_parser::common::Ranged;

/// The line and column of the value at `pointer` (RFC 6901) in `text`; the deepest existing
/// ancestor when the pointer goes further than the document, (1, 1) when nothing parses.
pub fn line_column(text: &str, pointer: &str) -> (usize, usize) {
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &Default::default());
    let Ok(Some(mut node)) = parsed.map(|p| p.value) else {
        return (1, 1);
    };
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let child = match &node {
            Value::Object(obj) => obj.properties.iter().position(|p| p.name.as_str() == token),
            Value::Array(arr) => token
                .parse::<usize>()
                .ok()
                .filter(|&i| i < arr.elements.len()),
            _ => None,
        };
        node = match (node, child) {
            (Value::Object(mut obj), Some(i)) => obj.properties.swap_remove(i).value,
            (Value::Array(mut arr), Some(i)) => arr.elements.swap_remove(i),
            (node, _) => return offset_to_line_column(text, node.start()),
        };
    }
    offset_to_line_column(text, node.start())
}

fn offset_to_line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn finds_nested_values() {
        let text = "{\n  \"a\": [\n    1,\n    {\"b/c\": true}\n  ]\n}";
        assert_eq!(line_column(text, ""), (1, 1));
        assert_eq!(line_column(text, "/a"), (2, 8));
        assert_eq!(line_column(text, "/a/1/b~1c"), (4, 13));
        assert_eq!(line_column(text, "/a/7"), (2, 8));
    }
}
