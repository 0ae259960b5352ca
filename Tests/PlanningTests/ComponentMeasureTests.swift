import Planning
import Testing

@Suite("Connected regions of a mask")
struct ComponentMeasureTests {
    @Test("regions, areas and boundaries of a drawn map; ignored pixels belong to none and are no boundary")
    func drawnMap() {
        // 8x6: a 3x2 block of class 1, a separate pixel of class 1, an L of class 2, an ignored column (x).
        let rows = [
            "00000000",
            "01110000",
            "01110020",
            "0000002x",
            "0100022x",
            "0000000x",
        ]
        let classes: [Int32] = rows.flatMap { $0.map { $0 == "x" ? -1 : Int32(String($0))! } }
        let regions = ComponentMeasure.measure(classes, height: 6, width: 8)
        let byClass = Dictionary(grouping: regions, by: \.classIndex)
        #expect(byClass[0]?.count == 1)
        #expect(byClass[1]?.map(\.area).sorted() == [1, 6])
        #expect(byClass[2]?.map(\.area) == [4])
        #expect(regions.map(\.area).reduce(0, +) == 45)
        // Every pixel of the 3x2 block touches class 0.
        let block = byClass[1]!.first { $0.area == 6 }!
        #expect(block.boundary == 6)
        #expect(abs(block.thickness - 2) < 1e-9)
        #expect(abs(block.diameter - 6.0.squareRoot()) < 1e-9)
    }

    @Test("a region filling the image has no boundary: its thickness is its size")
    func filling() {
        let regions = ComponentMeasure.measure([Int32](repeating: 3, count: 12), height: 3, width: 4)
        #expect(regions == [ComponentMeasure(classIndex: 3, area: 12, boundary: 0)])
        #expect(abs(regions[0].thickness - 12.0.squareRoot()) < 1e-9)
    }
}
