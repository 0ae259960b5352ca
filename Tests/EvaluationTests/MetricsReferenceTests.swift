import Evaluation
import TestSupport
import Testing

@Suite("Segmentation metrics against an independent numpy reference")
struct MetricsReferenceTests {
    /// The fixture's values; NaN marks an undefined one.
    func values(_ fixture: Fixture, _ key: String) throws -> [Double] { try fixture.tensor(key).scalars.map(Double.init) }

    func expectMatches(_ ours: [Double?], _ reference: [Double], _ what: String) {
        #expect(ours.count == reference.count, "\(what)")
        for (o, r) in zip(ours, reference) {
            if r.isNaN {
                #expect(o == nil, "\(what): \(ours) vs \(reference)")
            } else {
                #expect(o.map { abs($0 - r) < 1e-6 } ?? false, "\(what): \(ours) vs \(reference)")
            }
        }
    }

    @Test("random label maps with ignored pixels, a region of interest, an empty and a never-predicted class")
    func randomMaps() throws {
        let f = try Fixture("metrics/random_maps")
        let classes = try f.int("classes")
        let truth = try f.tensor("truth").scalars.map { Int32($0) }
        let prediction = try f.tensor("prediction").scalars.map { Int32($0) }
        let region = try f.tensor("region").scalars.map { $0 != 0 }
        var matrix = ConfusionMatrix(classes: classes)
        try matrix.add(predictions: prediction, truth: truth, ignoreIndex: Int32(try f.int("ignore")), regionOfInterest: region)
        #expect(matrix.counts == (try f.tensor("confusion").scalars.map { Int($0) }))

        let m = SegmentationMetrics(matrix)
        #expect(abs(m.pixelAccuracy - (try values(f, "pixel_accuracy")[0])) < 1e-6)
        #expect(abs(m.meanAccuracy - (try values(f, "mean_accuracy")[0])) < 1e-6)
        #expect(abs(m.meanIoU - (try values(f, "mean_iou")[0])) < 1e-6)
        #expect(abs(m.meanDice - (try values(f, "mean_dice")[0])) < 1e-6)
        #expect(abs(m.meanDiceWithoutBackground - (try values(f, "mean_dice_no_background")[0])) < 1e-6)
        expectMatches(m.perClassIoU, try values(f, "per_class_iou"), "per-class IoU")
        expectMatches(m.perClassDice, try values(f, "per_class_dice"), "per-class Dice")
        expectMatches(m.perClassPrecision, try values(f, "precision"), "precision")
        expectMatches(m.perClassRecall, try values(f, "recall"), "recall")

        let one = SegmentationMetrics(matrix, emptyClass: .one)
        #expect(abs(one.meanIoU - (try values(f, "mean_iou_empty_one")[0])) < 1e-6)
        #expect(abs(one.meanDice - (try values(f, "mean_dice_empty_one")[0])) < 1e-6)
    }
}
