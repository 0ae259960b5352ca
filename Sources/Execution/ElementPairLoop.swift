/// A loop over a map and its gate whose element types (float32 or bf16 each) are known only when the network is
/// compiled. `run` calls `loop` with both as static types, so that each pair gets its own specialization (a generic
/// loop left unspecialized calls a witness per element, several times slower).
protocol ElementPairLoop {
    func loop<T: MapElement, G: MapElement>(_: T.Type, _: G.Type)
}

extension ElementPairLoop {
    func run(_ elements: StridedMap.Elements) {
        switch (elements.map, elements.gate) {
        case (.bf16, .bf16): loop(BFloat16.self, BFloat16.self)
        case (.bf16, _): loop(BFloat16.self, Float.self)
        case (_, .bf16): loop(Float.self, BFloat16.self)
        default: loop(Float.self, Float.self)
        }
    }
}
