// The gradient checker must be able to fail: an op whose backward is off by 1% is caught.
import GradCheck
import Testing
import TensorCore

@Suite struct GradCheckSelfTest {
    @Test func aOnePercentWrongBackwardIsCaught() throws {
        let x = rand([4, 5], seed: 1)
        withKnownIssue("the deliberately wrong backward must be reported") {
            try check(GradCase(name: "wrong square", inputs: [x],
                               ours: { v in
                                   let y = Tensor(shape: v[0].shape, repeating: 0)
                                   var out = y
                                   out.withUnsafeMutableBufferPointer { o in
                                       v[0].value.withUnsafeBufferPointer { i in for k in 0..<i.count { o[k] = i[k] * i[k] } }
                                   }
                                   let xv = v[0].value
                                   return Tape.output(out, inputs: [v[0]]) { g, _ in
                                       var d = g
                                       d.withUnsafeMutableBufferPointer { dp in
                                           xv.withUnsafeBufferPointer { xp in for k in 0..<xp.count { dp[k] *= 2.02 * xp[k] } }
                                       }
                                       return [d]
                                   }
                               },
                               reference: { $0[0].map { $0 * $0 } }))
        }
    }

    @Test func aWrongForwardIsCaught() throws {
        let x = rand([3, 7], seed: 2)
        withKnownIssue("a forward that differs from the reference must be reported") {
            try check(GradCase(name: "wrong exp", inputs: [x], ours: { $0[0].exp().scaled(by: 1.001) },
                               reference: { $0[0].map { _exp($0) } }))
        }
    }
}

import Foundation
private func _exp(_ x: Double) -> Double { Foundation.exp(x) }
