// Tape: reverse-mode autograd by recording. Ops run eagerly; while a tape is recording
// (`tape.record { ... }`) each op whose inputs need gradients appends one entry holding
// its backward closure. `backward(loss)` replays the entries newest-first and then empties
// the tape, freeing every saved activation. Outside `record` nothing is kept (no-grad).
// Leaves out: higher-order gradients, graph-level optimisation.

public final class Tape: @unchecked Sendable {
    /// Backward of one op: gradient of its output -> gradients of its inputs (nil where
    /// `needs[i]` is false). Returned grads have exactly the inputs' shapes.
    public typealias Backward = (_ gradOutput: Tensor, _ needs: [Bool]) -> [Tensor?]

    struct Entry {
        let inputs: [Variable]
        let output: Variable
        let backward: Backward
    }

    /// The tape that ops record onto in the current task/thread, if any.
    @TaskLocal public static var current: Tape?

    private var entries: [Entry] = []

    public init() {}

    public var entryCount: Int { entries.count }

    /// Runs `body` with this tape recording.
    public func record<R>(_ body: () throws -> R) rethrows -> R {
        try Tape.$current.withValue(self, operation: body)
    }

    /// Runs `body` with recording switched off (inside or outside a `record`).
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R {
        try Tape.$current.withValue(nil, operation: body)
    }

    /// Builds the output Variable of an op, recording its backward if any input needs it.
    @inlinable
    public static func output(_ value: Tensor, inputs: [Variable], backward: @escaping Backward) -> Variable {
        guard let tape = Tape.current, inputs.contains(where: { $0.requiresGrad }) else {
            return Variable(value)
        }
        return tape.append(value, inputs: inputs, backward: backward)
    }

    @usableFromInline
    func append(_ value: Tensor, inputs: [Variable], backward: @escaping Backward) -> Variable {
        let out = Variable(interior: value)
        entries.append(Entry(inputs: inputs, output: out, backward: backward))
        return out
    }

    /// Back-propagates from `loss` (seeded with ones, or with `seed` of the loss's shape),
    /// accumulating into every leaf with `requiresGrad`, then empties the tape.
    /// Throws if the loss is NaN/Inf or the seed has the wrong shape.
    public func backward(_ loss: Variable, seed: Tensor? = nil) throws(TensorError) {
        defer { reset() }
        if seed == nil {
            for i in 0..<loss.count where !loss.value[flat: i].isFinite {
                throw .nonFinite(op: "backward", detail: "loss\(loss.name.map { " '\($0)'" } ?? "") \(shapeString(loss.shape)) has value \(loss.value[flat: i]) at element \(i)")
            }
        }
        let g = seed ?? Tensor(shape: loss.shape, repeating: 1)
        guard g.shape == loss.shape else {
            throw .shapeMismatch(op: "backward", detail: "seed \(shapeString(g.shape)) vs loss \(shapeString(loss.shape))")
        }
        guard loss.requiresGrad else {
            throw .invalidArgument(op: "backward", detail: "the loss does not depend on any Variable with requiresGrad (was it computed inside tape.record?)")
        }
        loss.accumulateGrad(g)
        for entry in entries.reversed() {
            guard let gOut = entry.output.grad else { continue }
            entry.output.grad = nil
            let needs = entry.inputs.map { $0.requiresGrad }
            let grads = entry.backward(gOut, needs)
            for (i, input) in entry.inputs.enumerated() where needs[i] {
                guard let gi = grads[i] else { continue }
                precondition(gi.shape == input.shape, "autograd internal error: grad \(shapeString(gi.shape)) for input \(shapeString(input.shape))")
                input.accumulateGrad(gi)
            }
        }
    }

    /// Drops every recorded entry (and with them the saved activations).
    public func reset() {
        for e in entries where e.output.isInterior { e.output.grad = nil }
        entries.removeAll(keepingCapacity: true)
    }
}
