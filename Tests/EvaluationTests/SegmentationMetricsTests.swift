import Evaluation
import Testing

@Suite("Confusion matrix and segmentation metrics")
struct SegmentationMetricsTests {
    @Test("hand-computed example with an ignored pixel, a region of interest and an empty class")
    func handComputed() throws {
        var matrix = ConfusionMatrix(classes: 3)
        // truth:      0 0 1 1 255 1 0
        // prediction: 0 1 1 1 2   0 0   (the last pixel is outside the region)
        try matrix.add(predictions: [0, 1, 1, 1, 2, 0, 0], truth: [0, 0, 1, 1, 255, 1, 0], ignoreIndex: 255,
                       regionOfInterest: [true, true, true, true, true, true, false])
        #expect(matrix.total == 5)
        #expect(matrix.count(truth: 0, predicted: 0) == 1 && matrix.count(truth: 0, predicted: 1) == 1)
        #expect(matrix.count(truth: 1, predicted: 1) == 2 && matrix.count(truth: 1, predicted: 0) == 1)
        let m = SegmentationMetrics(matrix)
        #expect(m.pixelAccuracy == 3.0 / 5)
        #expect(m.perClassIoU[0] == 1.0 / 3 && m.perClassIoU[1] == 2.0 / 4 && m.perClassIoU[2] == nil)
        #expect(m.meanIoU == (1.0 / 3 + 0.5) / 2)
        #expect(m.perClassDice[0] == 2.0 / 4 && m.perClassDice[1] == 4.0 / 6)
        #expect(m.meanDiceWithoutBackground == 4.0 / 6)
        #expect(m.perClassAccuracy[0] == 0.5 && m.perClassAccuracy[1] == 2.0 / 3 && m.perClassAccuracy[2] == nil)
        #expect(m.perClassPrecision[1] == 2.0 / 3)
        let one = SegmentationMetrics(matrix, emptyClass: .one)
        #expect(one.perClassIoU[2] == 1 && one.meanIoU == (1.0 / 3 + 0.5 + 1) / 3)
    }

    @Test("bad inputs are errors")
    func errors() {
        var matrix = ConfusionMatrix(classes: 2)
        #expect(throws: MetricsError.self) { try matrix.add(predictions: [0], truth: [0, 1]) }
        #expect(throws: MetricsError.self) { try matrix.add(predictions: [2], truth: [0]) }
        #expect(throws: MetricsError.self) { try matrix.add(predictions: [0], truth: [5]) }
    }
}
