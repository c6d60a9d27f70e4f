//! Property tests: readers fed malformed input return errors, never panic.

use phasecast::volume::Volume;
use phasecast::volume_io::*;
use proptest::prelude::*;

fn sample_files(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let v = Volume::from_vec([2, 3, 4], 0.5, (0..24).map(|i| i as f32).collect()).unwrap();
    let (n, t, f) = (dir.join("s.npy"), dir.join("s.vti"), dir.join("s.tif"));
    write_npy(&n, &v, &serde_json::Value::Null).unwrap();
    write_vti(&t, &[("phi_p", &v)]).unwrap();
    write_tiff_stack(&f, &v).unwrap();
    (std::fs::read(n).unwrap(), std::fs::read(t).unwrap(), std::fs::read(f).unwrap())
}

#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Vec<Damage>> {
    prop::collection::vec(
        prop_oneof![
            any::<usize>().prop_map(Damage::Truncate),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
            (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, b)| Damage::Insert(i, b)),
        ],
        1..4,
    )
}

fn apply(mut b: Vec<u8>, ds: &[Damage]) -> Vec<u8> {
    for d in ds {
        if b.is_empty() {
            break;
        }
        match d {
            Damage::Truncate(i) => b.truncate(i % b.len()),
            Damage::Flip(i, x) => {
                let n = b.len();
                b[i % n] ^= x | 1;
            }
            Damage::Insert(i, x) => {
                let at = i % b.len();
                b.splice(at..at, x.iter().copied());
            }
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn damaged_files_never_panic(ds in damage(), which in 0usize..3) {
        let dir = tempfile::tempdir().unwrap();
        let (n, t, f) = sample_files(dir.path());
        let (orig, name) = match which { 0 => (n, "d.npy"), 1 => (t, "d.vti"), _ => (f, "d.tif") };
        let p = dir.path().join(name);
        std::fs::write(&p, apply(orig, &ds)).unwrap();
        // Either a volume of consistent size, or an error naming the file.
        match read_volume(&p, &ReadOptions { voxel_um: Some(1.0), ..Default::default() }) {
            Ok(l) => prop_assert_eq!(l.volume.data.len(), l.volume.shape.iter().product::<usize>()),
            Err(e) => prop_assert!(e.to_string().contains(name), "{}", e),
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), ext in 0usize..3) {
        let dir = tempfile::tempdir().unwrap();
        let name = ["r.npy", "r.vti", "r.tif"][ext];
        let p = dir.path().join(name);
        let mut b = bytes;
        // Give the parsers a real start so they get past the magic checks.
        match ext {
            0 => { let mut h = b"\x93NUMPY\x01\x00".to_vec(); h.extend(b); b = h; }
            1 => { let mut h = b"<VTKFile type=\"ImageData\" header_type=\"UInt64\"><ImageData WholeExtent=\"0 2 0 2 0 2\" Spacing=\"1 1 1\"><CellData><DataArray type=\"Float32\" format=\"appended\" offset=\"0\"/></CellData><AppendedData encoding=\"raw\">_".to_vec(); h.extend(b); b = h; }
            _ => { let mut h = b"II*\x00\x08\x00\x00\x00".to_vec(); h.extend(b); b = h; }
        }
        std::fs::write(&p, &b).unwrap();
        if let Err(e) = read_volume(&p, &ReadOptions { voxel_um: Some(1.0), ..Default::default() }) {
            prop_assert!(e.to_string().contains(name), "{}", e);
        }
    }

    #[test]
    fn npy_headers_with_random_shapes(z in 0usize..1<<20, y in 0usize..1<<20, x in 0usize..1<<20, extra in 0usize..64) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.npy");
        let d = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({z}, {y}, {x}), }}\n");
        let mut h = b"\x93NUMPY\x01\x00".to_vec();
        h.extend_from_slice(&(d.len() as u16).to_le_bytes());
        h.extend_from_slice(d.as_bytes());
        h.extend(std::iter::repeat_n(0u8, extra));
        std::fs::write(&p, &h).unwrap();
        let r = read_npy(&p, Some(1.0));
        if z * y * x * 4 != extra { prop_assert!(r.is_err()); }
    }
}
