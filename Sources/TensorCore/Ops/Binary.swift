// Broadcasting add/sub/mul/div between Variables (and with constants), with backward.

extension Variable {
    static func binary(_ a: Variable, _ b: Variable, op: String,
                       forward: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>,
                       backward: @escaping (_ g: Tensor, _ a: Tensor, _ b: Tensor, _ out: [Int], _ needs: [Bool]) -> [Tensor?]) throws(TensorError) -> Variable {
        let outShape = try Broadcast.shape(a.shape, b.shape, op: op)
        let y = Broadcast.apply(a.value, b.value, outShape: outShape, forward)
        let av = a.value, bv = b.value
        return Tape.output(y, inputs: [a, b]) { g, needs in backward(g, av, bv, outShape, needs) }
    }

    public static func + (a: Variable, b: Variable) throws(TensorError) -> Variable {
        try binary(a, b, op: "add", forward: { $0 + $1 }) { g, a, b, _, needs in
            [needs[0] ? Broadcast.reduce(g, to: a.shape) : nil, needs[1] ? Broadcast.reduce(g, to: b.shape) : nil]
        }
    }

    public static func - (a: Variable, b: Variable) throws(TensorError) -> Variable {
        try binary(a, b, op: "sub", forward: { $0 - $1 }) { g, a, b, _, needs in
            [needs[0] ? Broadcast.reduce(g, to: a.shape) : nil,
             needs[1] ? Broadcast.reduce(Kernels.mapped(g) { -$0 }, to: b.shape) : nil]
        }
    }

    public static func * (a: Variable, b: Variable) throws(TensorError) -> Variable {
        try binary(a, b, op: "mul", forward: { $0 * $1 }) { g, a, b, out, needs in
            [needs[0] ? Broadcast.reduce(Broadcast.apply(g, b, outShape: out) { $0 * $1 }, to: a.shape) : nil,
             needs[1] ? Broadcast.reduce(Broadcast.apply(g, a, outShape: out) { $0 * $1 }, to: b.shape) : nil]
        }
    }

    public static func / (a: Variable, b: Variable) throws(TensorError) -> Variable {
        try binary(a, b, op: "div", forward: { $0 / $1 }) { g, a, b, out, needs in
            var ga: Tensor? = nil, gb: Tensor? = nil
            if needs[0] { ga = Broadcast.reduce(Broadcast.apply(g, b, outShape: out) { $0 / $1 }, to: a.shape) }
            if needs[1] {
                // d(a/b)/db = -a / b²
                let ga2 = Broadcast.apply(g, a, outShape: out) { $0 * $1 }
                gb = Broadcast.reduce(Broadcast.apply(ga2, b, outShape: out) { -$0 / ($1 * $1) }, to: b.shape)
            }
            return [ga, gb]
        }
    }

    public static func * (a: Variable, s: Float) -> Variable { a.scaled(by: s) }
    public static func * (s: Float, a: Variable) -> Variable { a.scaled(by: s) }
    public static func + (a: Variable, s: Float) -> Variable { a.shifted(by: s) }
    public static func - (a: Variable, s: Float) -> Variable { a.shifted(by: -s) }
    public static func / (a: Variable, s: Float) -> Variable { a.scaled(by: 1 / s) }
}
