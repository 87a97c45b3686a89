// `HTMLReport`: one self-contained HTML page (inline CSS, inline SVG plots, no scripts, no
// network) made of titled sections holding paragraphs, key-value stat tables, data tables
// and `SVGLinePlot`s; every piece of text is escaped, and the same content gives the same
// bytes. Written atomically (temp file, fsync, rename). Leaves out images, links, raw HTML.
import Foundation

public struct HTMLReport: Sendable {
    /// One titled part of the report; blocks appear in the order they were added.
    public struct Section: Sendable {
        public enum Block: Sendable {
            case paragraph(String)
            /// Two-column table: name, value.
            case stats(caption: String?, [(key: String, value: String)])
            /// A table with a header row; rows shorter than the header are padded with empty cells.
            case table(caption: String?, header: [String], rows: [[String]])
            case plot(SVGLinePlot)
        }

        public var heading: String
        public var blocks: [Block] = []

        public init(_ heading: String) { self.heading = heading }

        public mutating func paragraph(_ text: String) { blocks.append(.paragraph(text)) }
        public mutating func stats(_ pairs: [(key: String, value: String)], caption: String? = nil) {
            blocks.append(.stats(caption: caption, pairs))
        }
        public mutating func table(header: [String], rows: [[String]], caption: String? = nil) {
            blocks.append(.table(caption: caption, header: header, rows: rows))
        }
        public mutating func plot(_ plot: SVGLinePlot) { blocks.append(.plot(plot)) }
    }

    public var title: String
    /// Text under the title (e.g. the command that produced the run); omitted when empty.
    public var subtitle: String
    public var sections: [Section] = []

    public init(title: String, subtitle: String = "") {
        self.title = title
        self.subtitle = subtitle
    }

    static let css = """
        body{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
        h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
        .subtitle{color:#666;margin-top:0}
        table{border-collapse:collapse;margin:1em 0;font-size:.92em}
        caption{text-align:left;font-weight:bold;padding-bottom:.3em}
        th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
        th{background:#f4f4f4}
        table.stats th{font-weight:normal;background:#fafafa}
        table.stats td{font-family:monospace;text-align:right}
        td{white-space:pre-wrap}
        figure{margin:1em 0}
        figure svg{max-width:100%;height:auto}
        """

    /// The page. Markup is well-formed XML as well as HTML (every element closed), so XML
    /// tools can check it.
    public func html() -> String {
        let e = Markup.escape
        var o = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        o += "<title>\(e(title))</title>\n<style>\n\(Self.css)\n</style>\n</head>\n<body>\n"
        o += "<h1>\(e(title))</h1>\n"
        if !subtitle.isEmpty { o += "<p class=\"subtitle\">\(e(subtitle))</p>\n" }
        for section in sections {
            o += "<section>\n<h2>\(e(section.heading))</h2>\n"
            for block in section.blocks {
                switch block {
                case .paragraph(let text):
                    o += "<p>\(e(text))</p>\n"
                case .stats(let caption, let pairs):
                    o += "<table class=\"stats\">\n"
                    if let caption { o += "<caption>\(e(caption))</caption>\n" }
                    for (k, v) in pairs { o += "<tr><th scope=\"row\">\(e(k))</th><td>\(e(v))</td></tr>\n" }
                    o += "</table>\n"
                case .table(let caption, let header, let rows):
                    o += "<table class=\"data\">\n"
                    if let caption { o += "<caption>\(e(caption))</caption>\n" }
                    o += "<thead><tr>" + header.map { "<th>\(e($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
                    let columns = Swift.max(header.count, rows.map(\.count).max() ?? 0)
                    for row in rows {
                        let cells = row + Array(repeating: "", count: columns - row.count)
                        o += "<tr>" + cells.map { "<td>\(e($0))</td>" }.joined() + "</tr>\n"
                    }
                    o += "</tbody>\n</table>\n"
                case .plot(let plot):
                    o += "<figure>\n\(plot.svg())\n</figure>\n"
                }
            }
            o += "</section>\n"
        }
        o += "</body>\n</html>\n"
        return o
    }

    /// Writes the page to `url` atomically: a hidden temp file in the same directory is
    /// written and fsynced, then renamed over `url` (created with its directory if needed).
    public func write(to url: URL) throws {
        let fm = FileManager.default
        let dir = url.deletingLastPathComponent()
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let temp = dir.appendingPathComponent(".tmp-\(url.lastPathComponent)-\(UUID().uuidString.prefix(8))")
        do {
            try Foundation.Data(html().utf8).write(to: temp)
            try FileSync.sync(temp.path)
            try FileSync.rename(temp, to: url)
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
        try FileSync.sync(dir.path)
    }
}
