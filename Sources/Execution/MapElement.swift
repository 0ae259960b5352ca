/// An element type of an activation buffer that `StridedMap`'s loops read and write: float32, or bfloat16 in a
/// mixed-precision network. The loops compute in float32.
protocol MapElement {
    init(float: Float)
    var float: Float { get }
}

extension Float: MapElement {
    @inline(__always) init(float value: Float) { self = value }
    @inline(__always) var float: Float { self }
}
