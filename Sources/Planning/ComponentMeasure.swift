/// One connected region of a mask (4-connectivity): its class, its area and its boundary (pixels with a 4-neighbour
/// of another class; the image border and ignored pixels are not boundary).
public struct ComponentMeasure: Sendable, Equatable {
    public let classIndex: Int
    public let area: Int
    public let boundary: Int

    public init(classIndex: Int, area: Int, boundary: Int) {
        self.classIndex = classIndex
        self.area = area
        self.boundary = boundary
    }

    /// The side of a square of the same area: the object's size.
    public var diameter: Double { Double(area).squareRoot() }

    /// `2 · area / boundary`: the width of a band, the radius of a disc; the area's diameter where the region has
    /// no boundary (it fills the image).
    public var thickness: Double { boundary == 0 ? diameter : 2 * Double(area) / Double(boundary) }

    /// The connected regions of an `height × width` class map (row-major; negative values are ignored pixels,
    /// which belong to no region).
    public static func measure(_ classes: [Int32], height: Int, width: Int) -> [ComponentMeasure] {
        precondition(classes.count == height * width, "ComponentMeasure.measure: \(classes.count) pixels for \(height)x\(width)")
        // Union-find over pixels: each pixel joins its left and upper neighbours of the same class.
        var parent = [Int32](repeating: -1, count: classes.count)
        func root(_ i: Int) -> Int {
            var r = i
            while parent[r] != Int32(r) { r = Int(parent[r]) }
            var j = i
            while parent[j] != Int32(r) { (j, parent[j]) = (Int(parent[j]), Int32(r)) }
            return r
        }
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                let c = classes[i]
                guard c >= 0 else { continue }
                parent[i] = Int32(i)
                if x > 0, classes[i - 1] == c { parent[root(i)] = Int32(root(i - 1)) }
                if y > 0, classes[i - width] == c {
                    let (a, b) = (root(i), root(i - width))
                    if a != b { parent[a] = Int32(b) }
                }
            }
        }
        var index: [Int: Int] = [:]
        var areas: [Int] = []
        var boundaries: [Int] = []
        var owners: [Int] = []
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                let c = classes[i]
                guard c >= 0 else { continue }
                let r = root(i)
                let k: Int
                if let known = index[r] {
                    k = known
                } else {
                    k = areas.count
                    index[r] = k
                    areas.append(0)
                    boundaries.append(0)
                    owners.append(Int(c))
                }
                areas[k] += 1
                let differs = { (j: Int) in classes[j] >= 0 && classes[j] != c }
                if (x > 0 && differs(i - 1)) || (x + 1 < width && differs(i + 1)) || (y > 0 && differs(i - width))
                    || (y + 1 < height && differs(i + width))
                {
                    boundaries[k] += 1
                }
            }
        }
        return (0..<areas.count).map { ComponentMeasure(classIndex: owners[$0], area: areas[$0], boundary: boundaries[$0]) }
    }
}
