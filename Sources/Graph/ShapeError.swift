/// Why an op cannot take inputs of given shapes (a sentence; `GraphBuilder` adds the node's name).
struct ShapeError: Error, ExpressibleByStringInterpolation {
    let reason: String

    init(stringLiteral value: String) { reason = value }
}
