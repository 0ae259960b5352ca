import Files
import ImageIO

/// A decoded mask's pixel values: gray levels, or RGB colours when the channels differ anywhere. Alpha is
/// dropped, and an RGB(A) mask whose channels are equal everywhere is gray: stb decodes palette GIFs and PNGs
/// to colours, so Carvana's 0/1 GIFs arrive as gray RGBA.
public struct MaskValues: Sendable {
    public let width: Int
    public let height: Int
    public let isColor: Bool
    /// One packed value per pixel (`MaskValues.pack`).
    public let packed: [Int]

    public init(_ image: Image) {
        width = image.width
        height = image.height
        let c = image.channels
        let colorChannels = c >= 3 ? 3 : 1
        let samples = image.samples
        var color = false
        if colorChannels == 3 {
            for pixel in 0..<(width * height) {
                let base = pixel * c
                if samples[base] != samples[base + 1] || samples[base] != samples[base + 2] {
                    color = true
                    break
                }
            }
        }
        isColor = color
        packed = (0..<(width * height)).map { pixel in
            let base = pixel * c
            return color ? MaskValues.pack([Int(samples[base]), Int(samples[base + 1]), Int(samples[base + 2])])
                : Int(samples[base])
        }
    }

    /// A gray level as itself; an RGB colour as `1 << 48 | r << 32 | g << 16 | b`.
    public static func pack(_ value: [Int]) -> Int {
        value.count == 1 ? value[0] : 1 << 48 | value[0] << 32 | value[1] << 16 | value[2]
    }

    /// The inverse of `pack`.
    public static func unpack(_ packed: Int) -> [Int] {
        packed >> 48 == 1 ? [packed >> 32 & 0xFFFF, packed >> 16 & 0xFFFF, packed & 0xFFFF] : [packed]
    }
}

/// Maps mask values (gray levels or RGB colours) to class indices, in class order: milesial's `mask_values`.
/// Stored in the trained model, so that prediction writes masks back in the same values.
public struct ClassTable: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Each class's mask value, `[v]` or `[r, g, b]`.
    public let values: [[Int]]
    private let index: [Int: Int32]

    /// - Throws: `DatasetProblem` for a repeated or malformed value.
    public init(values: [[Int]]) throws(DatasetProblem) {
        guard !values.isEmpty else { throw DatasetProblem("class table", "no values") }
        guard values.count <= Self.maximumClasses else {
            throw DatasetProblem("class table", "\(values.count) values; a table holds at most \(Self.maximumClasses)")
        }
        var index: [Int: Int32] = [:]
        for (c, value) in values.enumerated() {
            guard value.count == 1 || value.count == 3, value.allSatisfy({ (0...65535).contains($0) }) else {
                throw DatasetProblem("class table", "value \(value) is neither a gray level nor an RGB colour")
            }
            guard index.updateValue(Int32(c), forKey: MaskValues.pack(value)) == nil else {
                throw DatasetProblem("class table", "value \(value) is listed twice")
            }
        }
        // A colour with equal components also matches that gray level: a colour mask holding only black (or only
        // gray colours) decodes as gray.
        for (c, value) in values.enumerated() where value.count == 3 && value[0] == value[1] && value[1] == value[2] {
            if index[value[0]] == nil { index[value[0]] = Int32(c) }
        }
        self.values = values
        self.index = index
    }

    /// The most classes a table holds: mask values are 16-bit, so class indices run up to 65535.
    public static let maximumClasses = 65536

    /// The class indices themselves, `0..<classes` (class-index masks).
    /// - Throws: `DatasetProblem` for more than `maximumClasses` classes.
    public static func identity(classes: Int) throws(DatasetProblem) -> ClassTable {
        guard classes <= maximumClasses else {
            throw DatasetProblem("class table", "\(classes) classes; class-index masks hold at most \(maximumClasses) (0...65535)")
        }
        return try ClassTable(values: (0..<max(classes, 1)).map { [$0] })
    }

    /// Parses a table as `--mask-values` gives it: gray levels separated by commas (`0,128,255`), or colours
    /// separated by semicolons with their components separated by spaces or commas (`0 0 0;255 0 0`).
    /// - Throws: `DatasetProblem` naming `source` for anything but numbers 0...65535 in that form.
    public init(parsing text: String, source: String) throws(DatasetProblem) {
        let entries = text.contains(";")
            ? text.split(separator: ";").map { $0.split(whereSeparator: { $0 == " " || $0 == "," }) }
            : text.split(separator: ",").map { $0.split(separator: " ") }
        let values = entries.map { $0.map { Int($0) } }
        guard !values.isEmpty, values.allSatisfy({ ($0.count == 1 || $0.count == 3) && !$0.contains(nil) }) else {
            throw DatasetProblem(source, "'\(TextFile.printable(text.prefix(80)))' is not a list of numbers or 'R G B' colours")
        }
        do { try self.init(values: values.map { $0.map { $0! } }) } catch { throw DatasetProblem(source, error.reason) }
    }

    /// milesial's default: every distinct value found in the masks, sorted (colours after gray levels).
    public static func scanning(_ packedValues: Set<Int>) throws(DatasetProblem) -> ClassTable {
        try ClassTable(values: packedValues.sorted().map(MaskValues.unpack))
    }

    public var classes: Int { values.count }

    /// The class of a packed value, or nil for a value outside the table.
    public func classIndex(ofPacked value: Int) -> Int32? { index[value] }

    public var description: String {
        values.enumerated().map { "\($0.element.count == 1 ? "\($0.element[0])" : "\($0.element)") -> \($0.offset)" }
            .joined(separator: ", ")
    }

    enum CodingKeys: CodingKey { case values }

    public init(from decoder: any Decoder) throws {
        try self.init(values: try decoder.container(keyedBy: CodingKeys.self).decode([[Int]].self, forKey: .values))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(values, forKey: .values)
    }
}
