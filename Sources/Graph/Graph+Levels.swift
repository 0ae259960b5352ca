import Foundation

extension Graph {
    /// Each value's resolution level: `log2` of the input's height over the value's, rounded (0 at full resolution,
    /// 1 after one 2x down-sampling, ...). Valid convolutions' few lost pixels do not change a level.
    public var levels: [Int] {
        let height = Double(shape(input)[2])
        return shapes.map { s in s.count == 4 ? Int(log2(height / Double(s[2])).rounded()) : 0 }
    }
}
