//! The fixed course taxonomy of DOMAIN.md (R14): twelve categories, each with its subcategories.

pub const CATEGORIES: [(&str, &[&str]); 12] = [
    ("Web Development", &["Frontend", "Backend", "Full Stack"]),
    ("Mobile Development", &["Android", "IOS", "React Native", "Flutter"]),
    ("Data Science", &["Machine Learning", "Data Analysis", "Data Visualization"]),
    ("Cloud Computing", &["AWS", "Azure", "GCP"]),
    ("UI/UX Design", &["Figma", "Adobe XD", "Sketch"]),
    ("Digital Marketing", &["SEO", "SMO", "PPC"]),
    ("Programming Languages", &["Python", "Java", "C++"]),
    ("Database", &["MySQL", "MongoDB", "PostgreSQL"]),
    ("Operating System", &["Windows", "Linux", "MacOS"]),
    ("Software Testing", &["Manual Testing", "Automation Testing", "Selenium"]),
    ("Business", &["Entrepreneurship", "Leadership", "Management"]),
    ("Personal Development", &["Communication", "Time Management", "Self Development"]),
];

/// The subcategories of `category`, or `None` if it is not in the taxonomy.
pub fn subcategories_of(category: &str) -> Option<&'static [&'static str]> {
    CATEGORIES.iter().find(|(name, _)| *name == category).map(|(_, subcategories)| *subcategories)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_subcategories_and_unknown_ones_have_none() {
        assert!(CATEGORIES.iter().all(|(_, subcategories)| !subcategories.is_empty()));
        assert_eq!(subcategories_of("Database"), Some(&["MySQL", "MongoDB", "PostgreSQL"][..]));
        assert_eq!(subcategories_of("Cooking"), None);
    }
}
