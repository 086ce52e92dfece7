/// The normalized form of a camera name, as seed 000 defines it for upload folders.
///
/// `"Front Door"` → `front_door`, `"back-yard"` → `back_yard`. The slug maps an FTP folder
/// `<root>/<Camera Name>/` to its camera and may be used wherever the API takes a camera id.
public enum CameraSlug {
    /// Lowercases, turns every run of characters other than ASCII letters and digits into one
    /// underscore, and trims underscores from both ends. Returns an empty string when nothing is left.
    public static func normalize(_ name: String) -> String {
        var slug = ""
        var pendingSeparator = false
        for scalar in name.unicodeScalars {
            let isWordCharacter = scalar.isASCII
                && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar))
            if isWordCharacter {
                if pendingSeparator && !slug.isEmpty { slug.append("_") }
                pendingSeparator = false
                slug.unicodeScalars.append(contentsOf: String(scalar).lowercased().unicodeScalars)
            } else {
                pendingSeparator = true
            }
        }
        return slug
    }
}
