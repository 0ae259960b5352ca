import DNNL

/// One thing a compiled network does: run a oneDNN primitive, stage weights, hand a gradient to the optimizer.
/// Forward and backward are lists of steps; making a value again for backward is a step like any other. A step
/// declares the buffers it reads and writes, from which the memory plan takes every buffer's lifetime, and which a
/// debug build checks at every run (`Executor`).
final class Step {
    let name: String
    let reads: [Buffer]
    let writes: [Buffer]
    /// `(written, read)`: the written buffer may take the read one's storage, where nothing reads that after this
    /// step (the primitive computes in place).
    let inPlace: [(written: Buffer, read: Buffer)]
    private let action: () throws -> Void

    init(_ name: String, reads: [Buffer], writes: [Buffer], inPlace: [(written: Buffer, read: Buffer)] = [],
         _ action: @escaping () throws -> Void) {
        (self.name, self.reads, self.writes, self.inPlace, self.action) = (name, reads, writes, inPlace, action)
    }

    func run() throws { try action() }

    /// Runs `primitive` with `arguments`; reads and writes as given, its scratchpad in `scratchpad`.
    static func primitive(
        _ name: String, _ primitive: Primitive, reading reads: [Argument: Buffer], writing writes: [Argument: Buffer],
        scratchpad: Buffer?, inPlace: [(written: Buffer, read: Buffer)] = []
    ) -> Step {
        var arguments: [Argument: Memory] = [:]
        for (argument, buffer) in reads.merging(writes, uniquingKeysWith: { a, _ in a }) { arguments[argument] = buffer.memory }
        // The scratchpad goes with the step, not the primitive: a primitive may run in several steps (forward, and
        // again for backward), each with scratch of its own lifetime.
        if let scratchpad { arguments[.scratchpad] = scratchpad.memory }
        let (r, w) = (Array(reads.values), Array(writes.values) + (scratchpad.map { [$0] } ?? []))
        return Step(name, reads: r, writes: w, inPlace: inPlace) { try primitive.execute(arguments) }
    }
}
