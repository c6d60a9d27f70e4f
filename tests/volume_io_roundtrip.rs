//! Round trips through every writer and reader, and clear errors for bad input.

use phasecast::volume::Volume;
use phasecast::volume_io::*;
use std::path::Path;

fn ramp(shape: [usize; 3], voxel: f64) -> Volume<f32> {
    let n = shape[0] * shape[1] * shape[2];
    Volume::from_vec(shape, voxel, (0..n).map(|i| (i as f32) * 0.25 - 3.0).collect()).unwrap()
}

#[test]
fn npy_round_trip_with_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.npy");
    let v = ramp([3, 4, 5], 0.125);
    write_npy(&p, &v, &serde_json::json!({"step": 500, "field": "phi_p"})).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    // The header (magic .. '\n') is a multiple of 64 bytes, as numpy requires.
    assert_eq!((bytes.len() - 4 * 60) % 64, 0);
    let side: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("f.json")).unwrap()).unwrap();
    assert_eq!(side["voxel_um"], 0.125);
    assert_eq!(side["shape_zyx"], serde_json::json!([3, 4, 5]));
    assert_eq!(side["step"], 500);
    let r = read_npy(&p, None).unwrap();
    assert_eq!(r.volume, v);
}

#[test]
fn vti_round_trip_two_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.vti");
    let a = ramp([2, 3, 4], 0.5);
    let b = a.map(|x| -x);
    write_vti(&p, &[("phi_p", &a), ("phi_n", &b)]).unwrap();
    assert_eq!(read_vti(&p, None).unwrap().volume, a);
    assert_eq!(read_vti(&p, Some("phi_n")).unwrap().volume, b);
    let e = read_vti(&p, Some("nope")).unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("phi_p"), "{e}");
}

/// A hand-written ascii and inline-binary (base64, UInt32 header) file, as other
/// VTK writers produce.
#[test]
fn vti_ascii_and_inline_binary() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.vti");
    let xml = r#"<?xml version="1.0"?>
<VTKFile type="ImageData" version="0.1" byte_order="LittleEndian">
  <ImageData WholeExtent="0 2 0 1 0 1" Origin="0 0 0" Spacing="2 2 2">
    <Piece Extent="0 2 0 1 0 1">
      <CellData Scalars="c">
        <DataArray type="UInt8" Name="c" format="ascii">1 0</DataArray>
        <DataArray type="Float32" Name="b" format="binary">CAAAAAAAwD8AACBA</DataArray>
      </CellData>
    </Piece>
  </ImageData>
</VTKFile>"#;
    std::fs::write(&p, xml).unwrap();
    let c = read_vti(&p, None).unwrap().volume;
    assert_eq!(c.shape, [1, 1, 2]);
    assert_eq!(c.data, vec![1.0, 0.0]);
    assert_eq!(c.voxel_um, 2.0);
    let b = read_vti(&p, Some("b")).unwrap().volume;
    assert_eq!(b.data, vec![1.5, 2.5]);
}

#[test]
fn tiff_round_trip_keeps_voxel_size() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.tif");
    let v = ramp([4, 3, 5], 0.05);
    write_tiff_stack(&p, &v).unwrap();
    let r = read_tiff_stack(&p, None).unwrap();
    assert_eq!(r.volume.data, v.data);
    assert_eq!(r.volume.shape, v.shape);
    assert!((r.volume.voxel_um - 0.05).abs() < 1e-9, "{}", r.volume.voxel_um);
}

#[test]
fn raw_reads_and_rejects_wrong_size() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.raw");
    let vals: Vec<u16> = (0..24).collect();
    std::fs::write(&p, vals.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()).unwrap();
    let spec = RawSpec { shape: [2, 3, 4], dtype: RawDtype::U16, voxel_um: 1.0 };
    let r = read_raw(&p, &spec).unwrap();
    assert_eq!(r.volume.get(1, 2, 3), 23.0);
    let bad = RawSpec { shape: [2, 3, 5], ..spec };
    let e = read_raw(&p, &bad).unwrap_err().to_string();
    assert!(e.contains("60 bytes") && e.contains("48"), "{e}");
}

#[test]
fn run_folder_reads_phi_p() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("fields")).unwrap();
    let v = ramp([2, 2, 2], 0.2);
    write_npy(&dir.path().join("fields/step_000500_phi_p.npy"), &v, &serde_json::json!({})).unwrap();
    write_vti(&dir.path().join("fields/step_000500.vti"), &[("phi_p", &v)]).unwrap();
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"final_fields": {"npy": {"phi_p": "fields/step_000500_phi_p.npy"}, "vti": "fields/step_000500.vti"}}"#,
    )
    .unwrap();
    let r = read_volume(dir.path(), &ReadOptions::default()).unwrap();
    assert_eq!(r.volume, v);
    assert!(r.source.contains("phi_p"));
}

#[test]
fn errors_name_file_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.npy");
    write_npy(&p, &ramp([4, 4, 4], 1.0), &serde_json::Value::Null).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
    let e = read_npy(&p, None).unwrap_err().to_string();
    assert!(e.contains("t.npy") && e.contains(&bytes.len().to_string()) && e.contains(&(bytes.len() - 10).to_string()), "{e}");

    let f = dir.path().join("f.npy");
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    let d = "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1, 1), }\n";
    h.extend_from_slice(&(d.len() as u16).to_le_bytes());
    h.extend_from_slice(d.as_bytes());
    h.extend_from_slice(&[0; 4]);
    std::fs::write(&f, &h).unwrap();
    let e = read_npy(&f, Some(1.0)).unwrap_err().to_string();
    assert!(e.contains("Fortran"), "{e}");

    let v = dir.path().join("t.vti");
    write_vti(&v, &[("phi_p", &ramp([4, 4, 4], 1.0))]).unwrap();
    let bytes = std::fs::read(&v).unwrap();
    std::fs::write(&v, &bytes[..bytes.len() - 100]).unwrap();
    let e = read_vti(&v, None).unwrap_err().to_string();
    assert!(e.contains("t.vti") && e.contains("too short"), "{e}");

    let e = read_volume(Path::new("/nonexistent/x.npy"), &ReadOptions::default()).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/x.npy"), "{e}");
}

#[test]
fn npy_without_voxel_size_asks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("n.npy");
    write_npy(&p, &ramp([1, 2, 2], 1.0), &serde_json::Value::Null).unwrap();
    std::fs::remove_file(dir.path().join("n.json")).unwrap();
    let e = read_volume(&p, &ReadOptions::default()).unwrap_err().to_string();
    assert!(e.contains("--voxel-um"), "{e}");
    let ok = read_volume(&p, &ReadOptions { voxel_um: Some(0.3), ..Default::default() }).unwrap();
    assert_eq!(ok.volume.voxel_um, 0.3);
}

/// numpy reads what we write, when Python with numpy is on the machine.
#[test]
fn numpy_reads_our_npy_if_available() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.npy");
    write_npy(&p, &ramp([2, 3, 4], 1.0), &serde_json::Value::Null).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", &format!("import numpy as np; a=np.load('{}'); print(a.shape, a.dtype, a[1,2,3])", p.display())])
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let s = String::from_utf8_lossy(&o.stdout);
            assert_eq!(s.trim(), "(2, 3, 4) float32 2.75");
        }
        _ => eprintln!("python3 with numpy not available; skipped"),
    }
}

/// VTK itself (ParaView's reader) reads what we write, when Python with vtk is on the machine.
#[test]
fn vtk_reads_our_vti_if_available() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.vti");
    let v = ramp([2, 3, 4], 0.25);
    write_vti(&p, &[("phi_p", &v), ("phi_n", &v.map(|x| 2.0 * x))]).unwrap();
    let script = format!(
        "import vtk\nfrom vtk.util.numpy_support import vtk_to_numpy\nr=vtk.vtkXMLImageDataReader()\nr.SetFileName('{}')\nr.Update()\nim=r.GetOutput()\na=vtk_to_numpy(im.GetCellData().GetArray('phi_n'))\nprint(im.GetDimensions(), im.GetSpacing()[0], a.shape[0], a[23])",
        p.display()
    );
    match std::process::Command::new("python3").args(["-c", &script]).output() {
        Ok(o) if o.status.success() => {
            let s = String::from_utf8_lossy(&o.stdout);
            // 4×3×2 cells → 5×4×3 points; last cell value 2 × (23 × 0.25 − 3) = 5.5.
            assert_eq!(s.trim(), "(5, 4, 3) 0.25 24 5.5");
        }
        _ => eprintln!("python3 with vtk not available; skipped"),
    }
}
