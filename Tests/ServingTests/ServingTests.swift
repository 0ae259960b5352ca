import Testing
@testable import Serving

/// The service's small rules: batch sizes, the token comparison, a request's query.
@Suite("Serving")
struct ServingTests {
    @Test("batches are powers of two or max-batch, so that few networks are compiled")
    func batchSizes() {
        #expect((1...10).map { SegmentationBatcher.batchSize(available: $0, maxBatch: 8) } == [1, 2, 2, 4, 4, 4, 4, 8, 8, 8])
        #expect((1...7).map { SegmentationBatcher.batchSize(available: $0, maxBatch: 6) } == [1, 2, 2, 4, 4, 6, 6])
        #expect(SegmentationBatcher.compiledShapes(maxBatch: 8) == 4)
        #expect(SegmentationBatcher.compiledShapes(maxBatch: 6) == 4)
        #expect(SegmentationBatcher.compiledShapes(maxBatch: 1) == 1)
    }

    @Test("the bearer token matches only itself, whatever its length")
    func token() {
        #expect(BearerToken.matches("s3cret", "s3cret"))
        for wrong in ["", "s3cre", "s3cret!", "S3cret", "s3creu", "s3cret\u{0}"] { #expect(!BearerToken.matches(wrong, "s3cret"), "\(wrong)") }
        #expect(!BearerToken.matches("", ""))
    }

    @Test("query parameters and Accept: formats, flags, opacity; unknown or bad ones are 400 naming them")
    func query() throws {
        let json = try SegmentOptions(query: ["format": "palette", "tta": "true"], accept: "application/json, */*")
        #expect(json.answer == .json && json.mask == .palette && json.formatGiven && json.flips == true)
        let overlay = try SegmentOptions(query: ["format": "overlay", "opacity": "0.8", "contours": "1"], accept: nil)
        #expect(overlay.answer == .png && overlay.mask == nil && overlay.opacity == 0.8 && overlay.contours)
        #expect(try SegmentOptions(query: ["probabilities": "yes"], accept: "application/json").answer == .probabilities)
        #expect(try SegmentOptions(query: [:], accept: nil) == SegmentOptions(query: [:], accept: "image/png"))
        for (query, name) in [(["format": "jpeg"], "format"), (["opacity": "nan"], "opacity"), (["opacity": "1.5"], "opacity"),
                              (["tta": "maybe"], "tta"), (["size": "9"], "size"), (["probabilities": "true", "format": "indices"], "probabilities")] {
            let error = #expect(throws: APIError.self) { try SegmentOptions(query: query, accept: nil) }
            #expect(error?.status == .badRequest && error?.message.contains(name) == true, "\(query): \(String(describing: error))")
        }
    }
}
