// The closet app: one module, `app`. Build it in Android Studio (see README.md); these machines
// have no Android SDK and no Google Maven, so the APK is not built here.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "closet"
include(":app")
