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

/// The categories' names, in [`CATEGORIES`]' order.
pub const CATEGORY_NAMES: [&str; CATEGORIES.len()] = {
    let mut names = [""; CATEGORIES.len()];
    let mut at = 0;
    while at < CATEGORIES.len() {
        names[at] = CATEGORIES[at].0;
        at += 1;
    }
    names
};

const SUBCATEGORY_COUNT: usize = {
    let (mut count, mut at) = (0, 0);
    while at < CATEGORIES.len() {
        count += CATEGORIES[at].1.len();
        at += 1;
    }
    count
};

/// Every subcategory's name, category by category.
pub const SUBCATEGORY_NAMES: [&str; SUBCATEGORY_COUNT] = {
    let mut names = [""; SUBCATEGORY_COUNT];
    let (mut next, mut category) = (0, 0);
    while category < CATEGORIES.len() {
        let mut at = 0;
        while at < CATEGORIES[category].1.len() {
            names[next] = CATEGORIES[category].1[at];
            next += 1;
            at += 1;
        }
        category += 1;
    }
    names
};

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
        assert_eq!(CATEGORY_NAMES[11], "Personal Development");
        assert_eq!(
            SUBCATEGORY_NAMES.len(),
            CATEGORIES.iter().map(|(_, subcategories)| subcategories.len()).sum::<usize>()
        );
        assert_eq!(
            (SUBCATEGORY_NAMES[0], SUBCATEGORY_NAMES[SUBCATEGORY_NAMES.len() - 1]),
            ("Frontend", "Self Development")
        );
    }
}
