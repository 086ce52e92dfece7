import Testing
import VigilCore

@Suite("Camera slugs (seed 000 normalization)")
struct CameraSlugTests {
    @Test("normalizes names the way upload folders are mapped", arguments: [
        ("Front Door", "front_door"),
        ("back-yard", "back_yard"),
        ("Garage", "garage"),
        ("  Side  Gate ", "side_gate"),
        ("Porch_Cam 2", "porch_cam_2"),
        ("DRIVEWAY--North", "driveway_north"),
        ("__weird__name__", "weird_name"),
        ("Café Entrée", "caf_entr_e"),
        ("cam.01", "cam_01"),
        ("", ""),
        ("---", ""),
    ])
    func normalizes(name: String, expected: String) {
        #expect(CameraSlug.normalize(name) == expected)
    }

    @Test("a slug is its own normal form")
    func idempotent() {
        for name in ["Front Door", "back-yard", "A b C", "x__y"] {
            let slug = CameraSlug.normalize(name)
            #expect(CameraSlug.normalize(slug) == slug)
        }
    }
}
