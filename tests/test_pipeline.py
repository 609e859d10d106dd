"""The tf.data pipeline and the learning-rate schedules."""
import numpy as np
import pytest

from fmnist_edge.data.pipeline import make_dataset, random_erasing
from fmnist_edge.settings import MAX_SHIFT_PX
from fmnist_edge.settings import PHOTO_PROBABILITY
from fmnist_edge.settings import resolve_settings
from fmnist_edge.stages.train import _optimizer


def _square_images(n=64, size=28):
    """A bright 8x8 square in the middle of each image: shifts and flips are easy to see."""
    x = np.zeros((n, size, size), np.uint8)
    x[:, 10:18, 8:16] = 200
    return x, np.arange(n) % 10


def _batches(ds):
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(images), np.concatenate(labels)


def test_no_augmentation_scales_to_unit_range_and_one_hot_labels_in_order(fashion_mnist):
    x, y = fashion_mnist.x_test[:300], fashion_mnist.y_test[:300]
    images, labels = _batches(make_dataset(x, y, 10, batch_size=128))
    assert images.shape == (300, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images[..., 0], x / 255.0, atol=1e-7)
    np.testing.assert_array_equal(labels.argmax(axis=1), y)
    np.testing.assert_array_equal(labels.sum(axis=1), 1)


def test_shuffle_keeps_every_image_once():
    x, y = _square_images()
    x[:, 0, 0] = np.arange(64)  # tag each image
    images, labels = _batches(make_dataset(x, y, 10, batch_size=16, shuffle=True, seed=1))
    tags = np.round(images[:, 0, 0, 0] * 255).astype(int)
    assert sorted(tags) == list(range(64)) and list(tags) != list(range(64))
    np.testing.assert_array_equal(labels.argmax(axis=1), y[tags])


def test_basic_augmentation_shifts_whole_pixels_and_flips():
    x, y = _square_images(256)
    images, _ = _batches(make_dataset(x, y, 10, batch_size=64, augment="basic", seed=3))
    values = np.unique(np.round(images * 255))
    assert set(values) <= {0.0, 200.0}, "nearest interpolation must not blur"
    bright = images[..., 0] > 0
    assert (bright.sum(axis=(1, 2)) <= 64).all() and (bright.sum(axis=(1, 2)) >= 64 - 8 * MAX_SHIFT_PX).all()
    rows = np.array([np.nonzero(b.any(axis=1))[0].min() for b in bright])
    cols = np.array([np.nonzero(b.any(axis=0))[0].min() for b in bright])
    assert np.abs(rows - 10).max() <= MAX_SHIFT_PX and len(set(rows)) > 1
    # The square spans columns 8..15; a flip moves it to 12..19, then the shift applies.
    assert (np.abs(cols - 8) <= MAX_SHIFT_PX).any() and (np.abs(cols - 12) <= MAX_SHIFT_PX).any()


def test_max_shift_sets_how_far_the_basic_augmentation_moves_an_image():
    x, y = _square_images(512)
    for max_shift in (0, 4):
        images, _ = _batches(make_dataset(x, y, 10, batch_size=128, augment="basic", seed=3, max_shift=max_shift))
        bright = images[..., 0] > 0
        rows = np.array([np.nonzero(b.any(axis=1))[0].min() for b in bright])
        assert set(rows - 10) == set(range(-max_shift, max_shift + 1))  # every shift up to max_shift, none further


def test_erase_area_sets_the_largest_rectangle_random_erasing_blanks():
    from fmnist_edge import _tf

    ones = _tf.tf().ones((2000, 28, 28, 1))
    for max_area in (0.1, 0.4):
        erased = (random_erasing(ones, probability=1.0, max_area=max_area).numpy()[..., 0] == 0).sum(axis=(1, 2))
        # rounding the sides to whole pixels moves an area by a few pixels either way
        assert erased.max() <= max_area * 784 * 1.3 and erased.max() >= max_area * 784 * 0.8


def test_strong_augmentation_erases_a_rectangle_in_about_half_the_images():
    from fmnist_edge import _tf

    tf = _tf.tf()
    ones = tf.ones((400, 28, 28, 1))
    erased = random_erasing(ones).numpy()[..., 0]
    zero = erased == 0
    changed = zero.any(axis=(1, 2))
    assert 0.35 < changed.mean() < 0.65
    for mask in zero[changed][:50]:
        r, c = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        assert mask[r.min():r.max() + 1, c.min():c.max() + 1].all(), "the erased area is one rectangle"
        assert 0.02 * 784 * 0.5 <= mask.sum() <= 0.25 * 784 * 1.5


def test_strong_pipeline_runs_on_closet_canvases():
    x = np.full((8, 64, 128), 100, np.uint8)
    images, labels = _batches(make_dataset(x, np.arange(8) % 9, 9, batch_size=4, augment="strong"))
    assert images.shape == (8, 64, 128, 1) and labels.shape == (8, 9)


def _lr(optimizer, step):
    schedule = optimizer._learning_rate
    return float(schedule(step)) if callable(schedule) else float(schedule)


def test_exp_schedule_is_lr_times_0_9_per_epoch():
    s = resolve_settings("cnn-bn", recipe="paper", epochs=10)
    opt = _optimizer(s, steps_per_epoch=100)
    for epoch in (0, 1, 5):
        for step in (0, 99):
            assert _lr(opt, epoch * 100 + step) == pytest.approx(1e-3 * 0.9 ** epoch)


def test_cosine_and_onecycle_schedules():
    cosine = _optimizer(resolve_settings("vgg198k", epochs=10, lr=0.01), steps_per_epoch=10)
    assert _lr(cosine, 0) == pytest.approx(0.01) and _lr(cosine, 100) == pytest.approx(0.0, abs=1e-9)
    onecycle = _optimizer(resolve_settings("vgg198k", epochs=10, lr=0.01, schedule="onecycle"), steps_per_epoch=10)
    assert _lr(onecycle, 0) == pytest.approx(0.01 / 25)
    assert _lr(onecycle, 30) == pytest.approx(0.01)  # the peak at 30% of the run
    assert _lr(onecycle, 100) < 0.01 / 25
    constant = _optimizer(resolve_settings("mlp", recipe="paper"), steps_per_epoch=10)
    assert type(constant).__name__ == "SGD" and _lr(constant, 500) == pytest.approx(0.025)


def test_batches_can_be_prefetched_onto_a_device_and_stay_the_same(fashion_mnist):
    """The GPU path (prefetch to the device), exercised on the CPU device: the same batches arrive."""
    x, y = fashion_mnist.x_test[:300], fashion_mnist.y_test[:300]
    host = _batches(make_dataset(x, y, 10, batch_size=128))
    device = _batches(make_dataset(x, y, 10, batch_size=128, device="/cpu:0"))
    np.testing.assert_array_equal(host[0], device[0])
    np.testing.assert_array_equal(host[1], device[1])


def test_photo_augmentation_changes_its_share_of_the_images_and_stays_in_range(fashion_mnist):
    x, y = fashion_mnist.x_train[:512], fashion_mnist.y_train[:512]
    images, labels = _batches(make_dataset(x, y, 10, batch_size=128, augment="photo", seed=2))
    assert images.shape == (512, 28, 28, 1) and images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(labels.argmax(axis=1), y)  # no shuffle: labels in order
    # Basic augmentation leaves pixel values on the 1/255 grid; camera conditions take them off it.
    off_grid = np.abs(images * 255 - np.round(images * 255)).max(axis=(1, 2, 3)) > 1e-3
    # 512 images: the share changed is within about 3 standard deviations of PHOTO_PROBABILITY.
    tolerance = 3 * (PHOTO_PROBABILITY * (1 - PHOTO_PROBABILITY) / len(x)) ** 0.5
    assert abs(off_grid.mean() - PHOTO_PROBABILITY) < tolerance


def test_photo_share_sets_the_share_of_images_given_camera_conditions(fashion_mnist):
    x, y = fashion_mnist.x_train[:512], fashion_mnist.y_train[:512]
    images, _ = _batches(make_dataset(x, y, 10, batch_size=128, augment="photo", seed=2, photo_share=0.1))
    off_grid = np.abs(images * 255 - np.round(images * 255)).max(axis=(1, 2, 3)) > 1e-3
    assert abs(off_grid.mean() - 0.1) < 3 * (0.1 * 0.9 / len(x)) ** 0.5


def test_uneven_light_dims_the_far_side_by_its_depth_and_keeps_the_brightest_level():
    from fmnist_edge import _tf
    from fmnist_edge.data.pipeline import unevenly_lit

    tf = _tf.tf()
    flat = tf.fill([3, 28, 28, 1], 0.8)
    lit = unevenly_lit(flat, tf.constant([0.5, 0.5, 0.0]), tf.constant([0.0, np.pi / 2, 1.0])).numpy()[..., 0]
    np.testing.assert_allclose(lit[0, :, 0], 0.8, rtol=1e-6)  # lit from the left: the left column keeps its level
    np.testing.assert_allclose(lit[0, :, -1], 0.4, rtol=1e-6)  # the far (right) side falls by half
    assert np.all(np.diff(lit[0, 0]) < 0) and np.ptp(lit[0], axis=0).max() < 1e-6  # left to right only
    np.testing.assert_allclose(lit[1, 0], 0.8, rtol=1e-6)  # direction pi/2: from the top row down
    np.testing.assert_allclose(lit[1, -1], 0.4, rtol=1e-6)
    np.testing.assert_allclose(lit[2], 0.8, rtol=1e-6)  # depth 0: unchanged
    garment = tf.constant(np.pad(np.full((1, 10, 10, 1), 0.9, np.float32), ((0, 0), (9, 9), (9, 9), (0, 0))))
    dimmed = unevenly_lit(garment, tf.constant([0.6]), tf.constant([np.pi])).numpy()
    assert dimmed.max() == pytest.approx(0.9) and dimmed[0, 9:19, 9, 0].mean() < 0.9  # stretched back to its peak
    assert np.all(dimmed[0, :9] == 0)  # the background stays black


def test_a_print_darkens_bands_of_the_cloth_at_its_period_and_angle():
    """Square-wave stripes: half the area at 1 - depth, the bands along the angle, checks crossing them,
    a period near two pixels averaged over each pixel rather than aliased, depth 0 changing nothing."""
    from fmnist_edge import _tf
    from fmnist_edge.data.pipeline import printed

    tf = _tf.tf()
    flat = tf.fill([4, 28, 28, 1], 0.8)
    out = printed(flat, depth=tf.constant([0.5, 1.0, 1.0, 0.0]), period=tf.constant([4.0, 4.0, 2.0, 4.0]),
                  angle=tf.constant([0.0, np.pi / 2, 0.0, 0.3]), phase=tf.constant([0.0, 0.0, 0.25, 0.0]),
                  checked=tf.constant([False, True, False, False])).numpy()[..., 0]
    # vertical stripes 4 px apart: columns 0-1 bright, 2-3 dark (0.8 * 0.5), every row alike
    np.testing.assert_allclose(out[0, 0, :8], [0.8, 0.8, 0.4, 0.4, 0.8, 0.8, 0.4, 0.4], rtol=1e-6)
    assert np.ptp(out[0], axis=0).max() < 1e-6
    # checks at depth 1: half of the cloth black, both axes alternating every two pixels
    np.testing.assert_allclose(out[1, :4, :4], [[0, 0, 0.8, 0.8], [0, 0, 0.8, 0.8], [0.8, 0.8, 0, 0],
                                                [0.8, 0.8, 0, 0]], atol=1e-6)
    assert out[1].mean() == pytest.approx(0.4, rel=1e-6)
    # a two-pixel period shifted a quarter: every pixel straddles a bright and a dark band, so all are half lit
    np.testing.assert_allclose(out[2], 0.4, rtol=1e-6)
    np.testing.assert_allclose(out[3], 0.8, rtol=1e-6)


def test_photo_geometry_fits_the_garment_back_to_the_frame_as_the_conversion_does(fashion_mnist):
    """Turned, sheared, squashed or cut, each garment's box comes back with its longest edge filling the
    frame and centred: what the conversion's step 9 makes of any camera picture."""
    from fmnist_edge import _tf
    from fmnist_edge.data.pipeline import _garment_box, _turned_sheared_and_refitted

    tf = _tf.tf()
    tf.random.set_seed(4)
    images = tf.constant(fashion_mnist.x_train[:256, ..., None] / 255.0, tf.float32)

    def uniform(low, high):
        return tf.random.uniform([256], low, high)

    def share(p):
        return tf.random.uniform([256]) < p

    out = _turned_sheared_and_refitted(images, uniform, share)
    assert out.shape == (256, 28, 28, 1)
    top, left, bottom, right = (v.numpy() for v in _garment_box(out))
    longest = np.maximum(bottom - top, right - left) + 1
    assert longest.min() >= 26, longest.min()  # bilinear edges may fall under the box's 10% level
    assert np.abs((top + bottom) / 2 - 13.5).max() <= 1.5 and np.abs((left + right) / 2 - 13.5).max() <= 1.5
    # the turn is not undone: the garments differ from their fitted originals
    assert np.abs(out.numpy() - images.numpy()).mean() > 0.05
