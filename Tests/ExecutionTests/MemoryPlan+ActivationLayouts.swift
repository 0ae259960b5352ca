import Execution

extension MemoryPlan {
    /// Each activation's layout (`abcd`, `acdb`, `aBcd16b`, ...) by the name of the node that writes it.
    var activationLayouts: [String: String] {
        Dictionary(rows.filter { $0.kind == "activation" }.map { ($0.name, $0.layout) }, uniquingKeysWith: { a, _ in a })
    }
}
