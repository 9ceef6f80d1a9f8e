// nni::mitk_tool::LabelSegmenter (the MITK tool's engine) against Debian's ITK, with the
// region-growing test model: two bright spheres in an image with anisotropic spacing and a
// rotated + flipped direction; world (LPS) prompts of every kind, per label of a label group
// image, preview, confirm (with a locked label), undo, reset, and bad calls that must change
// nothing.
#include "../core/nninteractive_mitk_segmenter.hpp"
#include "../../adapters/tests/itk_test_image.hpp"

#include <itkImageRegionIteratorWithIndex.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <set>

using namespace nni_test;
using ImageType = itk::Image<short, 3>;
using nni::mitk_tool::LabelImage;
using nni::mitk_tool::LabelPixel;
using Point = nni::itk::PointType;

namespace {

Point to_point(const nni::Vec3 &v)
{
    Point p;
    for (unsigned a = 0; a < 3; ++a) {
        p[a] = v[a];
    }
    return p;
}

nni::itk::VectorType to_vector(const nni::Vec3 &v)
{
    nni::itk::VectorType p;
    for (unsigned a = 0; a < 3; ++a) {
        p[a] = v[a];
    }
    return p;
}

nni::Vec3 to_vec(const Point &p) { return {p[0], p[1], p[2]}; }

/// Dice of (labels == value) against truth.
double label_dice(const LabelPixel *labels, LabelPixel value, const std::vector<unsigned char> &truth)
{
    std::vector<unsigned char> m(truth.size());
    for (size_t i = 0; i < truth.size(); ++i) {
        m[i] = labels[i] == value ? 1 : 0;
    }
    return dice(m.data(), truth.data(), truth.size());
}

size_t count_value(const LabelPixel *labels, size_t n, LabelPixel value)
{
    size_t c = 0;
    for (size_t i = 0; i < n; ++i) {
        c += labels[i] == value ? 1 : 0;
    }
    return c;
}

} // namespace

int main()
{
    const nni::Mat3 d = test_direction();
    ImageType::Pointer image = make_itk_image<ImageType>(d);
    const ImageType::RegionType region = image->GetBufferedRegion();
    const size_t n = region.GetNumberOfPixels();

    itk::ContinuousIndex<double, 3> ca, cb;
    for (unsigned a = 0; a < 3; ++a) {
        ca[a] = kCentreIndex[a];
        cb[a] = kDecoyIndex[a] + (a == 2 ? 12.0 : 0.0); // sphere B, well inside the image
    }
    Point centre_a, centre_b;
    image->TransformContinuousIndexToPhysicalPoint(ca, centre_a);
    image->TransformContinuousIndexToPhysicalPoint(cb, centre_b);
    const double radius_b = 6.0;
    std::vector<unsigned char> truth_a(n, 0), truth_b(n, 0);
    {
        itk::ImageRegionIteratorWithIndex<ImageType> it(image, region);
        size_t i = 0;
        for (it.GoToBegin(); !it.IsAtEnd(); ++it, ++i) {
            Point p;
            image->TransformIndexToPhysicalPoint(it.GetIndex(), p);
            truth_a[i] = p.EuclideanDistanceTo(centre_a) <= kRadius ? 1 : 0;
            truth_b[i] = p.EuclideanDistanceTo(centre_b) <= radius_b ? 1 : 0;
            it.Set(static_cast<short>(truth_a[i] || truth_b[i] ? kBright : kBackground));
        }
    }

    LabelImage::Pointer group = make_itk_image<LabelImage>(d);
    LabelPixel *labels = group->GetBufferPointer();

    try {
        nni::runtime_init(NNI_ONNXRUNTIME);
        nni::mitk_tool::LabelSegmenter seg(nni::SessionOptions{NNI_TEST_MODEL, nni::Device::Cpu, 0, true});

        // wrong order: prompts before an image or a label are errors
        bool threw = false;
        try {
            seg.AddPoint(centre_a);
        } catch (const nni::Error &e) {
            threw = e.status() == NNI_ERR_NO_IMAGE;
        }
        NNI_CHECK(threw);
        seg.SetReferenceImage(image.GetPointer());
        threw = false;
        try {
            seg.AddPoint(centre_a);
        } catch (const nni::Error &e) {
            threw = e.status() == NNI_ERR_INVALID_ARGUMENT;
        }
        NNI_CHECK(threw);

        // a group image on another grid is refused
        {
            nni::Mat3 other = d;
            other[0] = -other[0];
            other[3] = -other[3];
            other[6] = -other[6];
            LabelImage::Pointer wrong = make_itk_image<LabelImage>(other);
            threw = false;
            try {
                seg.ActivateLabel(wrong.GetPointer(), 1);
            } catch (const nni::Error &e) {
                threw = e.status() == NNI_ERR_INVALID_ARGUMENT;
            }
            NNI_CHECK(threw);
            NNI_CHECK(seg.ActiveLabel() == 0);
        }

        // 1. label 1, empty: a world click on sphere A; the preview shows it, the group not yet
        seg.ActivateLabel(group.GetPointer(), 1);
        NNI_CHECK(!seg.Undo()); // nothing to undo yet
        seg.AddPoint(centre_a);
        const double d1 = label_dice(seg.GetPreview()->GetBufferPointer(), 1, truth_a);
        report("label 1: world click, preview", d1);
        NNI_CHECK(d1 >= 0.95);
        NNI_CHECK(count_value(labels, n, 1) == 0);
        const nni::Region r1 = seg.LastChangedRegion();
        NNI_CHECK(!r1.empty() && r1.voxel_count() < n); // region-sized refresh
        const size_t changed1 = seg.ConfirmInto(group.GetPointer());
        NNI_CHECK(changed1 == count_value(labels, n, 1) && changed1 > 500);
        report("label 1: confirmed into the group image", label_dice(labels, 1, truth_a));
        NNI_CHECK(label_dice(labels, 1, truth_a) >= 0.95);
        NNI_CHECK(!seg.Undo()); // confirm ends the undo step

        // 2. label 2: a 2D box on an oblique slice through sphere B
        seg.ActivateLabel(group.GetPointer(), 2);
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 2) == 0);
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 1) == 0); // only the active label
        const Slice sb = oblique_slice(to_vec(centre_b));
        const nni::Vec3 ba = g::sub(sb.centre, g::add(g::scale(sb.u, 5.0), g::scale(sb.v, 4.5)));
        const nni::Vec3 bb = g::add(sb.centre, g::add(g::scale(sb.u, 5.0), g::scale(sb.v, 4.5)));
        seg.AddBox(to_point(ba), to_point(bb), to_vector(sb.u), to_vector(sb.v));
        const double d2 = label_dice(seg.GetPreview()->GetBufferPointer(), 2, truth_b);
        report("label 2: box on an oblique slice, preview", d2);
        NNI_CHECK(d2 >= 0.95);
        seg.ConfirmInto(group.GetPointer());
        NNI_CHECK(label_dice(labels, 2, truth_b) >= 0.95);
        NNI_CHECK(label_dice(labels, 1, truth_a) >= 0.95); // label 1 untouched
        const size_t ones = count_value(labels, n, 1), twos = count_value(labels, n, 2);

        // 3. back to label 1: its voxels seed the session; a negative click removes the
        //    sphere, undo brings it back, reset returns to the confirmed label
        seg.ActivateLabel(group.GetPointer(), 1);
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 1) == ones);
        seg.AddPoint(centre_a, false);
        const size_t after_negative = count_value(seg.GetPreview()->GetBufferPointer(), n, 1);
        std::printf("  label 1 after a negative click: %zu of %zu voxels\n", after_negative, ones);
        NNI_CHECK(after_negative < ones / 10);
        NNI_CHECK(seg.Undo());
        NNI_CHECK(label_dice(seg.GetPreview()->GetBufferPointer(), 1, truth_a) >= 0.95);
        NNI_CHECK(!seg.Undo()); // nothing before it since the label was seeded
        NNI_CHECK(seg.Redo());  // the negative click again, without a network run
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 1) == after_negative);
        NNI_CHECK(!seg.Redo());
        NNI_CHECK(seg.Undo());
        seg.AddPoint(centre_a, false);
        seg.ResetInteractions();
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 1) == ones);
        {
            // the preview equals the confirmed label voxel for voxel
            size_t diff = 0;
            const LabelPixel *p = seg.GetPreview()->GetBufferPointer();
            for (size_t i = 0; i < n; ++i) {
                diff += (p[i] == 1) != (labels[i] == 1) ? 1 : 0;
            }
            NNI_CHECK(diff == 0);
        }
        NNI_CHECK(seg.ConfirmInto(group.GetPointer()) == 0); // nothing changed

        // 3b. switching labels keeps each label's session: label 1's unconfirmed negative click
        //     is still there after a visit to label 2, with its undo history; a label whose
        //     voxels changed in the group image is seeded again from them
        seg.AddPoint(centre_b); // a second object into label 1 (B is label 2's, unconfirmed here)
        seg.AddPoint(centre_a, false);
        const size_t pending1 = count_value(seg.GetPreview()->GetBufferPointer(), n, 1);
        seg.ActivateLabel(group.GetPointer(), 2);
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 2) == twos);
        NNI_CHECK(!seg.Undo()); // label 2 has nothing to undo since its confirm
        seg.ActivateLabel(group.GetPointer(), 1);
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 1) == pending1);
        std::printf("  label 1 again after label 2: %zu voxels pending (two prompts kept)\n", pending1);
        NNI_CHECK(seg.Undo() && seg.Undo()); // both prompts, in order
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 1) == ones);
        NNI_CHECK(!seg.Undo());
        NNI_CHECK(seg.Redo());
        seg.ActivateLabel(group.GetPointer(), 2);
        const size_t at = std::find(labels, labels + n, LabelPixel(1)) - labels;
        labels[at] = 0; // the user erases a voxel of label 1 in the viewer
        seg.ActivateLabel(group.GetPointer(), 1);
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 1) == ones - 1); // seeded again
        NNI_CHECK(!seg.Undo());
        labels[at] = 1;
        seg.ActivateLabel(group.GetPointer(), 1);
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 1) == ones);

        // 4. label 3: a lasso around sphere B with label 2 locked: label 2 keeps its voxels
        seg.ActivateLabel(group.GetPointer(), 3);
        const Slice sl = oblique_slice(to_vec(centre_b), {-0.4, 1.0, 0.7});
        std::vector<Point> contour;
        for (const nni::Vec3 &p : circle_on(sl, 4.0)) {
            contour.push_back(to_point(p));
        }
        seg.AddLasso(contour);
        const double d4 = label_dice(seg.GetPreview()->GetBufferPointer(), 3, truth_b);
        report("label 3: lasso on an oblique slice, preview", d4);
        NNI_CHECK(d4 >= 0.95);
        const std::set<LabelPixel> locked{2};
        NNI_CHECK(seg.ConfirmInto(group.GetPointer(), [&](LabelPixel v) { return locked.count(v) > 0; }) == 0);
        NNI_CHECK(count_value(labels, n, 2) == twos && count_value(labels, n, 3) == 0);
        // unlocked, label 3 takes sphere B over from label 2
        const size_t taken = seg.ConfirmInto(group.GetPointer());
        std::printf("  label 3 unlocked: %zu voxels taken over\n", taken);
        NNI_CHECK(label_dice(labels, 3, truth_b) >= 0.95);
        NNI_CHECK(count_value(labels, n, 2) < twos / 10);
        NNI_CHECK(count_value(labels, n, 1) == ones);

        // 5. label 4: a scribble on an oblique slice through sphere A overwrites label 1 there
        seg.ActivateLabel(group.GetPointer(), 4);
        const Slice ss = oblique_slice(to_vec(centre_a), {0.3, -1.0, 0.5});
        std::vector<Point> stroke;
        for (int k = -3; k <= 3; ++k) {
            stroke.push_back(to_point(g::add(ss.centre, g::scale(ss.u, 1.2 * k))));
        }
        seg.AddScribble(stroke, to_vector(ss.n), 1.0);
        const double d5 = label_dice(seg.GetPreview()->GetBufferPointer(), 4, truth_a);
        report("label 4: scribble on an oblique slice, preview", d5);
        NNI_CHECK(d5 >= 0.95);

        // 6. a click outside the image: an error, and the preview and label are unchanged
        std::vector<LabelPixel> before(seg.GetPreview()->GetBufferPointer(),
                                       seg.GetPreview()->GetBufferPointer() + n);
        Point far = centre_a;
        far[0] += 500.0;
        threw = false;
        try {
            seg.AddPoint(far);
        } catch (const nni::Error &e) {
            threw = e.status() == NNI_ERR_OUT_OF_BOUNDS;
        }
        NNI_CHECK(threw);
        NNI_CHECK(std::equal(before.begin(), before.end(), seg.GetPreview()->GetBufferPointer()));
        NNI_CHECK(seg.ActiveLabel() == 4);
        NNI_CHECK(seg.Undo()); // the scribble is still the step to undo
        NNI_CHECK(count_value(seg.GetPreview()->GetBufferPointer(), n, 4) == 0);

        // 7. label 5: a lasso as MITK's 2D contour tool leaves it, a filled disk painted into a
        //    mask image on the slice through sphere B, found within that slice
        seg.ActivateLabel(group.GetPointer(), 5);
        auto drawn = make_itk_image<nni::mitk_tool::MaskImage>(d);
        const int64_t kb = static_cast<int64_t>(std::lround(cb[2]));
        nni::Region slice;
        slice.min = {0, 0, kb};
        slice.max = {int64_t(kDims[0]), int64_t(kDims[1]), kb + 1};
        threw = false;
        try {
            seg.AddDrawnMask(drawn.GetPointer(), true, true, slice);
        } catch (const nni::Error &e) {
            threw = e.status() == NNI_ERR_INVALID_ARGUMENT; // nothing drawn yet
        }
        NNI_CHECK(threw);
        for (int64_t j = 0; j < int64_t(kDims[1]); ++j) {
            for (int64_t i = 0; i < int64_t(kDims[0]); ++i) {
                const double di = double(i) - cb[0], dj = double(j) - cb[1];
                if (di * di + dj * dj <= 9.0) {
                    nni::mitk_tool::MaskImage::IndexType idx;
                    idx[0] = i;
                    idx[1] = j;
                    idx[2] = kb;
                    drawn->SetPixel(idx, 1);
                }
            }
        }
        const nni::Region box = seg.AddDrawnMask(drawn.GetPointer(), true, true, slice);
        NNI_CHECK(box.max[2] - box.min[2] == 1 && box.voxel_count() <= 49);
        const double d7 = label_dice(seg.GetPreview()->GetBufferPointer(), 5, truth_b);
        report("label 5: lasso painted into a mask image", d7);
        NNI_CHECK(d7 >= 0.95);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "exception: %s\n", e.what());
        return 1;
    }
    return finish("mitk_segmenter_test");
}
