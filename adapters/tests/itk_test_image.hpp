// An ITK image on the adapter tests' grid (kDims, kSpacing, kOrigin and a direction), zeroed.
#ifndef NNI_ITK_TEST_IMAGE_HPP
#define NNI_ITK_TEST_IMAGE_HPP

#include "adapter_test_common.hpp"

#include <itkImage.h>

namespace nni_test {

template <class Img> typename Img::Pointer make_itk_image(const nni::Mat3 &direction_cosines)
{
    auto image = Img::New();
    typename Img::RegionType region;
    typename Img::SizeType size;
    typename Img::SpacingType spacing;
    typename Img::PointType origin;
    typename Img::DirectionType direction;
    for (unsigned a = 0; a < 3; ++a) {
        size[a] = kDims[a];
        spacing[a] = kSpacing[a];
        origin[a] = kOrigin[a];
        for (unsigned c = 0; c < 3; ++c) {
            direction(a, c) = direction_cosines[a * 3 + c];
        }
    }
    region.SetSize(size);
    image->SetRegions(region);
    image->SetSpacing(spacing);
    image->SetOrigin(origin);
    image->SetDirection(direction);
    image->Allocate(true);
    return image;
}

} // namespace nni_test

#endif
