import Files
import Foundation
import Testing

@Suite("AtomicFile, FileContents, AppendingFile, DirectoryLock")
struct FileSafetyTests {
    func folder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("unet-files-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("an atomic write replaces a symbolic link, not its target, and a failed one leaves the destination as it was")
    func atomicWrites() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "target".write(toFile: dir + "/target", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/target")
        try AtomicFile.write("new", to: dir + "/link")
        #expect(try String(contentsOfFile: dir + "/target", encoding: .utf8) == "target")
        #expect(try String(contentsOfFile: dir + "/link", encoding: .utf8) == "new")
        let error = #expect(throws: FileError.self) { try AtomicFile.write("x", to: dir + "/missing/file") }
        #expect(try #require(error).description == dir + "/missing/file: cannot write: No such file or directory")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["link", "target"])
    }

    @Test("only our temporary names are removed as stale")
    func staleTemporaries() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ours = ".last.safetensors.\(UUID().uuidString).tmp"
        for name in [ours, ".notes.tmp", "data.tmp", ".x.not-a-uuid.tmp"] { FileManager.default.createFile(atPath: dir + "/" + name, contents: nil) }
        #expect(AtomicFile.isTemporaryName(ours) && !AtomicFile.isTemporaryName(".notes.tmp"))
        #expect(AtomicFile.removeStale(in: dir) == [ours])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == 3)
    }

    @Test("reading refuses folders, devices and files over the limit, before reading")
    func regularFilesOnly() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/ten", contents: Data(count: 10))
        #expect(try FileContents.read(dir + "/ten", limit: 10).count == 10)
        for (path, reason) in [(dir + "/ten", "more than the limit of 9 bytes"), (dir, "is a folder"), ("/dev/zero", "not a regular file"),
                               (dir + "/none", "no such file")] {
            let error = #expect(throws: FileError.self) { try FileContents.read(path, limit: 9) }
            #expect(try #require(error).description.contains(reason), "\(path)")
        }
    }

    @Test("a log is never opened through a symbolic link")
    func appendingRefusesLinks() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/log", withDestinationPath: dir + "/elsewhere")
        let error = #expect(throws: FileError.self) { try AppendingFile(path: dir + "/log") }
        #expect(try #require(error).description.contains("symbolic link"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/elsewhere"))
        let file = try AppendingFile(path: dir + "/real")
        try file.append(Data("a\n".utf8))
        try file.append(Data("b\n".utf8))
        #expect(try String(contentsOfFile: dir + "/real", encoding: .utf8) == "a\nb\n")
    }

    @Test("a second lock on a folder is refused while the first lives, and granted once it is released")
    func locks() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let first = try DirectoryLock(folder: dir)
            #expect(DirectoryLock.isHeld(folder: dir))
            let error = #expect(throws: FileError.self) { try DirectoryLock(folder: dir) }
            #expect(try #require(error).description.contains("another unet process"))
            withExtendedLifetime(first) {}
        }
        #expect(!DirectoryLock.isHeld(folder: dir))
        _ = try DirectoryLock(folder: dir)
    }
}
