// Text -> markup helpers shared by the SVG plots and the HTML report: escaping of the five
// XML-special characters (and of characters XML cannot hold at all) and deterministic,
// locale-free number formatting. Leaves out attribute-name validation (names are ours).
import Foundation

enum Markup {
    /// `s` safe inside an element or a quoted attribute: `& < > " '` become entities;
    /// control characters XML 1.0 forbids (all below U+0020 except tab, LF, CR, and the
    /// non-characters U+FFFE/U+FFFF) become U+FFFD, so the output always parses as XML.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            default:
                if u.value < 0x20 || u.value == 0xFFFE || u.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }

    /// A coordinate with two decimals ("12.5" -> "12.50"), never "-0.00".
    static func coord(_ v: Double) -> String {
        let s = String(format: "%.2f", v)
        return s == "-0.00" ? "0.00" : s
    }
}
