import Foundation
import ImageIO
import TensorBoard
import TensorBoardProto
import TestSupport
import Testing

@Suite("TensorBoard events")
struct TensorBoardTests {
    @Test("CRC-32C gives RFC 3720's check values (appendix B.4) and the standard check of '123456789'")
    func crcVectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map(UInt8.init)) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map(UInt8.init)) == 0x113F_DB5C)
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test("records are framed byte for byte as TensorBoard's RecordWriter frames them, with its masked CRCs")
    func framingMatchesTensorBoard() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("tensorboard/records.json")))
        let cases = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(cases.count == 5)
        func bytes(_ hex: String) -> [UInt8] {
            stride(from: 0, to: hex.count, by: 2).map { i in
                UInt8(hex[hex.index(hex.startIndex, offsetBy: i)..<hex.index(hex.startIndex, offsetBy: i + 2)], radix: 16)!
            }
        }
        for entry in cases {
            let payload = bytes(try #require(entry["payload"] as? String))
            #expect(TFRecord.frame(payload) == bytes(try #require(entry["framed"] as? String)), "payload of \(payload.count) bytes")
            #expect(CRC32C.masked(CRC32C.checksum(payload)) == UInt32(try #require(entry["masked_crc"] as? Int)))
        }
    }

    @Test("a writer's file starts with the version record and holds the scalars, text and images written, in order")
    func writerRoundTrip() throws {
        let folder = try SyntheticData.temporaryFolder("unet-tensorboard")
        defer { try? FileManager.default.removeItem(at: folder) }
        let directory = folder.appendingPathComponent("logs/run").path
        let writer = try SummaryWriter(logDirectory: directory)
        #expect((writer.path as NSString).lastPathComponent.hasPrefix("events.out.tfevents."))
        try writer.addScalar("train/loss", 0.75, step: 3)
        try writer.addText("configuration", "`unet train`", step: 0)
        let image = try Image(width: 2, height: 1, channels: 3, samples: [255, 0, 0, 0, 0, 255])
        let png = try ImageWriter.encodePNG(image)
        try writer.addImage("overlay/a.png", png: png, width: 2, height: 1, channels: 3, step: 3)
        let events = try EventFile.read(writer.path)
        #expect(events.count == 4)
        #expect(events[0].fileVersion == "brain.Event:2")
        #expect(EventFile.scalars(events).map(\.tag) == ["train/loss"] && events[1].step == 3 && events[1].summary.value[0].simpleValue == 0.75)
        let text = events[2].summary.value[0]
        #expect(text.tag == "configuration" && text.metadata.pluginData.pluginName == "text")
        #expect(text.tensor.dtype == .dtString && text.tensor.stringVal == [Data("`unet train`".utf8)])
        let summary = events[3].summary.value[0].image
        #expect(summary.width == 2 && summary.height == 1 && summary.colorspace == 3)
        #expect(try ImageReader.decode([UInt8](summary.encodedImageString), path: "overlay") == image)
    }

    @Test("a resumed log starts with a session start at its first step, so TensorBoard drops what came after the checkpoint")
    func resumeMarksSessionStart() throws {
        let folder = try SyntheticData.temporaryFolder("unet-tensorboard-resume")
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try SummaryWriter(logDirectory: folder.path)
        let second = try SummaryWriter(logDirectory: folder.path, startStep: 11)
        #expect(first.path != second.path)
        let events = try EventFile.read(second.path)
        #expect(events.count == 2 && events[1].step == 11 && events[1].sessionLog.status == .start)
    }

    @Test("a log folder that cannot be made is named in the error")
    func unwritableFolder() throws {
        let folder = try SyntheticData.temporaryFolder("unet-tensorboard-file")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("not-a-folder").path
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        #expect { try SummaryWriter(logDirectory: file + "/logs") } throws: { "\($0)".contains("not-a-folder") }
    }
}
