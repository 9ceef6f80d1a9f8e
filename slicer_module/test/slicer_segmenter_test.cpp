// nni::slicer::SegmentSegmenter (the Slicer logic's engine) against Debian's VTK, with the
// region-growing test model. Slicer's convention: the volume is a vtkImageData index grid and
// an IJK-to-RAS matrix (here with anisotropic spacing, a rotation and an axis flip); prompts
// are world RAS points as markups give them: a fiducial, a rotated 3D ROI, a flat ROI, a closed
// curve (lasso) and an open curve (scribble), on new and existing segments, with apply, undo,
// reset and bad calls that must change nothing.
#include "../Logic/nninteractive_slicer_segmenter.hpp"
#include "../../adapters/tests/adapter_test_common.hpp"

#include <vtkNew.h>

#include <cstdio>

using namespace nni_test;
using nni::slicer::Ras;

namespace {

size_t count_nonzero(vtkImageData *image)
{
    const auto *p = static_cast<const uint8_t *>(image->GetScalarPointer());
    size_t c = 0;
    for (vtkIdType i = 0; i < image->GetNumberOfPoints(); ++i) {
        c += p[i] != 0 ? 1 : 0;
    }
    return c;
}

double image_dice(vtkImageData *image, const std::vector<unsigned char> &truth)
{
    return dice(static_cast<const unsigned char *>(image->GetScalarPointer()), truth.data(), truth.size());
}

} // namespace

int main()
{
    const nni::Mat3 d = test_direction();
    vtkNew<vtkImageData> volume;
    volume->SetDimensions(int(kDims[0]), int(kDims[1]), int(kDims[2]));
    volume->AllocateScalars(VTK_SHORT, 1);
    vtkNew<vtkMatrix4x4> ijk_to_ras;
    const double lps_to_ras[3] = {-1.0, -1.0, 1.0};
    for (int r = 0; r < 3; ++r) {
        for (int c = 0; c < 3; ++c) {
            ijk_to_ras->SetElement(r, c, lps_to_ras[r] * d[size_t(r * 3 + c)] * kSpacing[c]);
        }
        ijk_to_ras->SetElement(r, 3, lps_to_ras[r] * kOrigin[r]);
    }
    auto to_ras = [&](double i, double j, double k) {
        const double in[4] = {i, j, k, 1.0};
        double out[4];
        ijk_to_ras->MultiplyPoint(in, out);
        return Ras{out[0], out[1], out[2]};
    };
    const Ras centre_a = to_ras(kCentreIndex[0], kCentreIndex[1], kCentreIndex[2]);
    const Ras centre_b = to_ras(kDecoyIndex[0], kDecoyIndex[1], kDecoyIndex[2] + 12.0);
    const double radius_b = 6.0;
    const size_t n = size_t(kDims[0]) * kDims[1] * kDims[2];
    std::vector<unsigned char> truth_a(n, 0), truth_b(n, 0);
    {
        auto *buf = static_cast<short *>(volume->GetScalarPointer());
        size_t t = 0;
        for (unsigned k = 0; k < kDims[2]; ++k)
            for (unsigned j = 0; j < kDims[1]; ++j)
                for (unsigned i = 0; i < kDims[0]; ++i, ++t) {
                    const Ras p = to_ras(i, j, k);
                    truth_a[t] = g::norm(g::sub(p, centre_a)) <= kRadius ? 1 : 0;
                    truth_b[t] = g::norm(g::sub(p, centre_b)) <= radius_b ? 1 : 0;
                    buf[t] = static_cast<short>(truth_a[t] || truth_b[t] ? kBright : kBackground);
                }
    }

    try {
        nni::runtime_init(NNI_ONNXRUNTIME);
        nni::slicer::SegmentSegmenter seg(nni::SessionOptions{NNI_TEST_MODEL, nni::Device::Cpu, 0, true});

        bool threw = false;
        try {
            seg.ActivateSegment(nullptr);
        } catch (const nni::Error &e) {
            threw = e.status() == NNI_ERR_NO_IMAGE;
        }
        NNI_CHECK(threw);
        seg.SetVolume(volume, ijk_to_ras);
        threw = false;
        try {
            seg.AddPoint(centre_a);
        } catch (const nni::Error &e) {
            threw = e.status() == NNI_ERR_INVALID_ARGUMENT; // no active segment
        }
        NNI_CHECK(threw);

        // 1. a new segment from a fiducial on sphere A; apply allocates the segment labelmap
        seg.ActivateSegment(nullptr);
        seg.AddPoint(centre_a);
        report("segment A: fiducial, preview", image_dice(seg.GetPreview(), truth_a));
        NNI_CHECK(image_dice(seg.GetPreview(), truth_a) >= 0.95);
        NNI_CHECK(seg.LastChangedRegion().voxel_count() < n);
        vtkNew<vtkImageData> segment_a;
        NNI_CHECK(seg.ApplyTo(segment_a) == count_nonzero(segment_a));
        report("segment A: applied labelmap", image_dice(segment_a, truth_a));
        NNI_CHECK(image_dice(segment_a, truth_a) >= 0.95);

        // 2. a new segment from a rotated 3D ROI around sphere B
        seg.ActivateSegment(nullptr);
        NNI_CHECK(count_nonzero(seg.GetPreview()) == 0);
        const nni::Mat3 axes = rotation({1.0, 2.0, 0.5}, 25.0);
        const nni::vtk::VoxelBox roi = seg.AddROI(nni::slicer::box_corners(centre_b, {13.0, 14.0, 13.5}, axes));
        std::printf("  ROI box [%lld,%lld,%lld)-[%lld,%lld,%lld)\n", (long long)roi.min[0], (long long)roi.min[1],
                    (long long)roi.min[2], (long long)roi.max[0], (long long)roi.max[1], (long long)roi.max[2]);
        NNI_CHECK(roi.slice_axis == -1);
        report("segment B: rotated 3D ROI, preview", image_dice(seg.GetPreview(), truth_b));
        NNI_CHECK(image_dice(seg.GetPreview(), truth_b) >= 0.95);
        vtkNew<vtkImageData> segment_b;
        seg.ApplyTo(segment_b);

        // 3. a flat ROI (one side 0 mm) is a 2D box on the slice through sphere B
        seg.ActivateSegment(nullptr);
        const nni::Mat3 ijk_axes = [&] {
            nni::Mat3 m{};
            for (int r = 0; r < 3; ++r)
                for (int c = 0; c < 3; ++c)
                    m[size_t(r * 3 + c)] = ijk_to_ras->GetElement(r, c) / kSpacing[c];
            return m;
        }();
        const nni::vtk::VoxelBox flat = seg.AddROI(nni::slicer::box_corners(centre_b, {11.0, 12.0, 0.0}, ijk_axes));
        NNI_CHECK(flat.slice_axis == 2 && flat.max[2] - flat.min[2] == 1);
        report("segment B: flat ROI (2D box), preview", image_dice(seg.GetPreview(), truth_b));
        NNI_CHECK(image_dice(seg.GetPreview(), truth_b) >= 0.95);

        // 4. back to segment A: a negative closed curve removes it, undo restores, reset too
        seg.ActivateSegment(segment_a);
        const size_t a_voxels = count_nonzero(segment_a);
        NNI_CHECK(count_nonzero(seg.GetPreview()) == a_voxels);
        seg.AddClosedCurve(circle_on(oblique_slice(centre_a, {-0.4, 1.0, 0.7}), 4.0), false);
        std::printf("  segment A after a negative closed curve: %zu of %zu voxels\n", count_nonzero(seg.GetPreview()),
                    a_voxels);
        NNI_CHECK(count_nonzero(seg.GetPreview()) < a_voxels / 10);
        NNI_CHECK(seg.Undo());
        NNI_CHECK(image_dice(seg.GetPreview(), truth_a) >= 0.95);
        NNI_CHECK(!seg.Undo());
        seg.AddClosedCurve(circle_on(oblique_slice(centre_a), 4.0), false);
        seg.ResetInteractions();
        NNI_CHECK(count_nonzero(seg.GetPreview()) == a_voxels);
        NNI_CHECK(seg.ApplyTo(segment_a) == 0);

        // 4b. segments by ID keep their sessions: back to A, its pending prompt and its undo
        //     history are still there (the volume is shared, not converted again)
        seg.ActivateSegment(segment_a, "A");
        seg.AddClosedCurve(circle_on(oblique_slice(centre_a), 4.0), false);
        const size_t pending_a = count_nonzero(seg.GetPreview());
        NNI_CHECK(pending_a < a_voxels / 10);
        seg.ActivateSegment(segment_b, "B");
        NNI_CHECK(count_nonzero(seg.GetPreview()) == count_nonzero(segment_b));
        seg.ActivateSegment(segment_a, "A");
        NNI_CHECK(count_nonzero(seg.GetPreview()) == pending_a);
        NNI_CHECK(seg.Undo());
        NNI_CHECK(count_nonzero(seg.GetPreview()) == a_voxels);
        NNI_CHECK(!seg.Undo());
        NNI_CHECK(seg.Redo());
        NNI_CHECK(count_nonzero(seg.GetPreview()) == pending_a);
        seg.ResetInteractions();
        NNI_CHECK(count_nonzero(seg.GetPreview()) == a_voxels);

        // 5. segment B again: an open curve (scribble) on an oblique slice keeps it
        seg.ActivateSegment(segment_b);
        const Slice sl = oblique_slice(centre_b, {0.3, -1.0, 0.5});
        std::vector<Ras> curve;
        for (int k = -2; k <= 2; ++k) {
            curve.push_back(g::add(sl.centre, g::scale(sl.u, 1.3 * k)));
        }
        seg.AddOpenCurve(curve, sl.n, 1.0);
        report("segment B: open curve (scribble), preview", image_dice(seg.GetPreview(), truth_b));
        NNI_CHECK(image_dice(seg.GetPreview(), truth_b) >= 0.95);

        // 6. bad input changes nothing
        std::vector<uint8_t> before(static_cast<uint8_t *>(seg.GetPreview()->GetScalarPointer()),
                                    static_cast<uint8_t *>(seg.GetPreview()->GetScalarPointer()) + n);
        threw = false;
        try {
            seg.AddPoint(g::add(centre_a, {400.0, 0.0, 0.0}));
        } catch (const nni::Error &e) {
            threw = e.status() == NNI_ERR_OUT_OF_BOUNDS;
        }
        NNI_CHECK(threw);
        vtkNew<vtkImageData> wrong;
        wrong->SetDimensions(int(kDims[0]) - 1, int(kDims[1]), int(kDims[2]));
        wrong->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
        threw = false;
        try {
            seg.ActivateSegment(wrong);
        } catch (const nni::Error &e) {
            threw = e.status() == NNI_ERR_INVALID_ARGUMENT;
        }
        NNI_CHECK(threw);
        NNI_CHECK(std::equal(before.begin(), before.end(), static_cast<uint8_t *>(seg.GetPreview()->GetScalarPointer())));
        NNI_CHECK(seg.HasActiveSegment());
        NNI_CHECK(seg.Undo()); // the scribble is still the step to undo
    } catch (const std::exception &e) {
        std::fprintf(stderr, "exception: %s\n", e.what());
        return 1;
    }
    return finish("slicer_segmenter_test");
}
