// Plugins are declared here once (versions in gradle/libs.versions.toml) and applied by the module.
plugins {
    alias(libs.plugins.android.application) apply false
    alias(libs.plugins.kotlin.android) apply false
    alias(libs.plugins.kotlin.compose) apply false
}
