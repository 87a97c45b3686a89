// Loading Fixtures/rlmath_golden.json (written by Reference/make_rlmath_fixtures.py) and
// comparing our Floats with its float64 goldens, printing the worst element on failure.
import Foundation
import TensorCore
import Testing

nonisolated(unsafe) let golden: [String: Any] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/rlmath_golden.json")
    let data = try! Data(contentsOf: url)
    return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
}()

func section(_ name: String) -> [String: Any] { golden[name] as! [String: Any] }
func cases(_ s: [String: Any]) -> [[String: Any]] { s["cases"] as! [[String: Any]] }
func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map { $0.floatValue } }
func number(_ any: Any?) -> Float { (any as! NSNumber).floatValue }
func optionalNumber(_ any: Any?) -> Float? { (any as? NSNumber)?.floatValue }
func tensor(_ any: Any?, _ shape: [Int]) -> Tensor { try! Tensor(shape: shape, data: floats(any)) }

let B = 4, A = 6, V = 11
var goldenMask: Tensor { tensor(golden["mask"], [B, A]) }

/// Values: |ours - golden| <= tol * max(1, |golden|) per element.
func expectValues(_ ours: [Float], _ ref: [Float], tol: Float = 1e-5, _ what: String,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(ours.count == ref.count, "\(what): \(ours.count) vs \(ref.count) values", sourceLocation: sourceLocation)
    var worst = (index: 0, err: Float(0))
    for i in 0..<min(ours.count, ref.count) {
        let err = abs(ours[i] - ref[i]) / max(1, abs(ref[i]))
        if !(err <= worst.err) { worst = (i, err) }
    }
    #expect(worst.err <= tol, "\(what): worst err \(worst.err) at \(worst.index): ours \(ours[worst.index]) vs torch \(ref[worst.index])",
            sourceLocation: sourceLocation)
}

func expectValue(_ ours: Float, _ ref: Float, tol: Float = 1e-5, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    expectValues([ours], [ref], tol: tol, what, sourceLocation: sourceLocation)
}

/// Gradients: |ours - golden| <= tol * max(|golden|, 1e-2 * max|golden|) per element
/// (relative, with a floor so exact zeros and tiny entries do not dominate).
func expectGradient(_ ours: Tensor?, _ ref: [Float], tol: Float = 1e-4, _ what: String,
                    sourceLocation: SourceLocation = #_sourceLocation) {
    guard let ours else { Issue.record("\(what): no gradient", sourceLocation: sourceLocation); return }
    let o = ours.scalars
    #expect(o.count == ref.count, "\(what): \(o.count) vs \(ref.count) values", sourceLocation: sourceLocation)
    let scale = ref.map(abs).max() ?? 0
    var worst = (index: 0, err: Float(0))
    for i in 0..<min(o.count, ref.count) {
        let err = abs(o[i] - ref[i]) / max(abs(ref[i]), 1e-2 * scale, 1e-12)
        if !(err <= worst.err) { worst = (i, err) }
    }
    #expect(worst.err <= tol, "\(what): worst rel err \(worst.err) at \(worst.index): ours \(o[worst.index]) vs torch \(ref[worst.index])",
            sourceLocation: sourceLocation)
}
