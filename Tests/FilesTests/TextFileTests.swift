import Files
import Testing

@Suite("TextFile")
struct TextFileTests {
    @Test("lines split on \\n, \\r\\n and \\r alike; a final line end adds no line")
    func lineEnds() {
        #expect(TextFile.lines("a b\r\nc d\r\n").map(String.init) == ["a b", "c d"])
        #expect(TextFile.lines("a\nb\rc\r\n\r\nd").map(String.init) == ["a", "b", "c", "", "d"])
        #expect(TextFile.lines("").isEmpty)
    }
}
