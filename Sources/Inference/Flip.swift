/// A mirror image of a window, for test-time augmentation: each flip is its own inverse.
enum Flip: CaseIterable {
    case none, horizontal, vertical, both

    /// Flips `channels` planes of `height × width` at `planes` in place.
    func apply(_ planes: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int) {
        let (flipX, flipY) = (self == .horizontal || self == .both, self == .vertical || self == .both)
        for c in 0..<channels {
            let plane = planes + c * height * width
            if flipX {
                for y in 0..<height {
                    let row = plane + y * width
                    for x in 0..<(width / 2) { swap(&row[x], &row[width - 1 - x]) }
                }
            }
            if flipY {
                for y in 0..<(height / 2) {
                    let (a, b) = (plane + y * width, plane + (height - 1 - y) * width)
                    for x in 0..<width { swap(&a[x], &b[x]) }
                }
            }
        }
    }
}
