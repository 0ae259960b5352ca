import Foundation
import ImageIO
import TestSupport
import Testing

@Suite("unet dataset check")
struct DatasetCommandTests {
    @Test("a clean dataset: sizes, channels, mask values, class table and balance; exit 0")
    func clean() throws {
        let folder = try SyntheticData.temporaryFolder("unet-check")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SyntheticData.writeDiscs(to: folder, count: 4, size: 32)
        let (status, output, error) = try CommandRunner.unet(["dataset", "check", folder.path, "--classes", "2"])
        #expect(status == 0, "\(error)")
        for text in ["samples: 4", "32x32 (all)", "class table: 0 -> 0, 255 -> 1", "class balance", "problems: none"] {
            #expect(output.contains(text), "\(text) missing from:\n\(output)")
        }
        let json = try CommandRunner.unet(["dataset", "check", folder.path, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect((object["report"] as? [String: Any])?["class_table"] as? [[Int]] == [[0], [255]])
    }

    @Test("masks named by the image's stem and a suffix pair without --mask-suffix (Carvana's _mask), with a note; a given suffix wins")
    func foundSuffix() throws {
        let folder = try SyntheticData.temporaryFolder("unet-check-suffix")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 3, size: 32)
        for i in 0..<3 { try FileManager.default.moveItem(atPath: "\(masks)/\(i).png", toPath: "\(masks)/\(i)_mask.png") }
        let found = try CommandRunner.unet(["dataset", "check", "--images", images, "--masks", masks])
        #expect(found.status == 0, "\(found.error)")
        #expect(found.output.contains("samples: 3") && found.output.contains("problems: none"), "\(found.output)")
        #expect(found.error.contains("image's stem + '_mask'") && found.error.contains("--mask-suffix"), "\(found.error)")
        let given = try CommandRunner.unet(["dataset", "check", "--images", images, "--masks", masks, "--mask-suffix", ""])
        #expect(given.status != 0 && given.output.contains("0.png: no mask 0.* in"), "\(given.output)")
        #expect(!given.error.contains("note:"), "\(given.error)")
    }

    @Test("the all-black traps are called out: JPEG masks with many values, one value everywhere; problems exit non-zero")
    func traps() throws {
        let folder = try SyntheticData.temporaryFolder("unet-check-traps")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 3, size: 32)
        // Mask values 0..39: what lossy or antialiased masks look like.
        let ramp = (0..<1024).map { UInt16($0 % 40) }
        for i in 0..<3 {
            try ImageWriter.writePNG(try Image(width: 32, height: 32, channels: 1, samples: ramp), to: "\(masks)/\(i).png")
        }
        let many = try CommandRunner.unet(["dataset", "check", "--images", images, "--masks", masks, "--classes", "2"])
        #expect(many.status != 0)
        #expect(many.output.contains("40 distinct mask values") && many.output.contains("--mask-values"), "\(many.output)")
        #expect(many.output.contains("problems (1)"), "\(many.output)")
        let flat = [UInt16](repeating: 0, count: 1024)
        for i in 0..<3 {
            try ImageWriter.writePNG(try Image(width: 32, height: 32, channels: 1, samples: flat), to: "\(masks)/\(i).png")
        }
        let single = try CommandRunner.unet(["dataset", "check", "--images", images, "--masks", masks])
        #expect(single.output.contains("every mask holds the one value [0]"), "\(single.output)")
    }
}
